package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// runCommand runs one command in-process and returns its output.
func runCommand(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	p := &program{getenv: func(k string) string { return env[k] }, stdout: &out, stderr: &errOut}
	err = p.run(context.Background(), args)
	return out.String(), errOut.String(), err
}

func TestMigrateThenServeWithoutAutoMigrate(t *testing.T) {
	env := map[string]string{"TANDEM_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "tandem.db")}
	_, _, err := runCommand(t, env, "serve", "--auto-migrate=false")
	if err == nil || !strings.Contains(err.Error(), "tandem migrate") {
		t.Fatalf("serve on an empty database without migrating: %v", err)
	}
	out, _, err := runCommand(t, env, "migrate")
	if err != nil || !strings.Contains(out, "up to date") {
		t.Fatalf("migrate: %v %q", err, out)
	}
	env["TANDEM_AUTO_MIGRATE"] = "false"
	c := runInProcess(t, env)
	if resp := c.do("GET", "/readyz", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("readyz after migrate: %s", resp.Status)
	}
}

func TestSubcommands(t *testing.T) {
	if out, _, err := runCommand(t, nil, "version"); err != nil || !strings.HasPrefix(out, "tandem ") {
		t.Fatalf("version: %v %q", err, out)
	}
	if out, _, err := runCommand(t, nil, "help"); err != nil || !strings.Contains(out, "serve") {
		t.Fatalf("help: %v %q", err, out)
	}
	if _, _, err := runCommand(t, nil, "frobnicate"); err == nil {
		t.Fatal("an unknown command succeeded")
	}
}
