package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tandemsync/tandem"
	"github.com/tandemsync/tandem/syncer/syncertest"
)

// TestMain doubles as the tandem program when TANDEM_TEST_PROCESS is set, so
// tests can run the real program in a child process, signal it and kill it.
// The child adds a recording test integration ("test") when
// TANDEM_TEST_PUSH_FILE names a file for its pushes, or a no-op one when
// TANDEM_TEST_INTEGRATION=noop; TANDEM_TEST_PROCESS=baseline or
// webhook-baseline runs a benchmark's baseline server instead of the program.
func TestMain(m *testing.M) {
	if os.Getenv("TANDEM_TEST_PROCESS") != "" {
		os.Exit(childMain())
	}
	os.Exit(m.Run())
}

func childMain() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	switch os.Getenv("TANDEM_TEST_PROCESS") {
	case "baseline":
		if err := serveBaseline(ctx, os.Getenv("TANDEM_ADDR"), os.Getenv("TANDEM_DATABASE_URL")); err != nil {
			fmt.Fprintln(os.Stderr, "baseline:", err)
			return 2
		}
		return 0
	case webhookBaselineProcess:
		if err := serveWebhookBaseline(ctx, os.Getenv("TANDEM_ADDR"), os.Getenv("TANDEM_DATABASE_URL"),
			os.Getenv("STRIPE_WEBHOOK_SECRET")); err != nil {
			fmt.Fprintln(os.Stderr, "webhook baseline:", err)
			return 2
		}
		return 0
	}
	p := &program{getenv: os.Getenv, stdout: os.Stdout, stderr: os.Stderr}
	if path := os.Getenv("TANDEM_TEST_PUSH_FILE"); path != "" {
		in, err := syncertest.NewFile("test", path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		// TANDEM_TEST_PUSH_DELAY makes every push take that long ("forever":
		// until the job is cancelled); each push then says when it starts.
		switch d := os.Getenv("TANDEM_TEST_PUSH_DELAY"); d {
		case "":
		case "forever":
			in.Hold = func(ctx context.Context, rec *tandem.Record) {
				fmt.Fprintln(os.Stderr, "push started", rec.Ref.ID)
				<-ctx.Done()
			}
		default:
			delay, err := time.ParseDuration(d)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			in.Hold = func(_ context.Context, rec *tandem.Record) {
				fmt.Fprintln(os.Stderr, "push started", rec.Ref.ID)
				time.Sleep(delay)
			}
		}
		p.integrations = append(p.integrations, in)
	}
	switch v := os.Getenv("TANDEM_TEST_INTEGRATION"); v {
	case "":
	case "noop":
		p.integrations = append(p.integrations, noopIntegration{})
	default:
		fmt.Fprintf(os.Stderr, "TANDEM_TEST_INTEGRATION=%q: want noop\n", v)
		return 1
	}
	if err := p.run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "tandem:", err)
		return 2
	}
	return 0
}

// noopIntegration is the "test" integration of TANDEM_TEST_INTEGRATION=noop:
// every push succeeds at once and nothing is kept, so a benchmark pays for the
// jobs and not for a recorder.
type noopIntegration struct{}

func (noopIntegration) Name() string { return "test" }

func (noopIntegration) Push(_ context.Context, req *tandem.PushRequest) (*tandem.PushResult, error) {
	return &tandem.PushResult{RemoteID: "r_" + req.Record.Ref.ID}, nil
}

// process is the tandem program running in a child process.
type process struct {
	cmd  *exec.Cmd
	URL  string // the API's base URL
	done chan struct{}
	mu   sync.Mutex
	logs bytes.Buffer
	err  error // Wait's result, once done is closed
}

var listeningLine = regexp.MustCompile(`msg=listening url=(http://\S+)`)

// startProcess runs `tandem serve` in a child process with env added to the
// test's environment, and waits until its API listens.
func startProcess(t testing.TB, env ...string) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0], "serve")
	cmd.Env = append(os.Environ(), "TANDEM_TEST_PROCESS=1", "TANDEM_ADDR=127.0.0.1:0")
	cmd.Env = append(cmd.Env, env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.logs.WriteString(line + "\n")
			p.mu.Unlock()
			if m := listeningLine.FindStringSubmatch(line); m != nil {
				urls <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("logs of process %d:\n%s", cmd.Process.Pid, p.Logs())
		}
	})
	select {
	case p.URL = <-urls:
		return p
	case <-p.done:
		t.Fatalf("tandem exited before listening (%v):\n%s", p.err, p.Logs())
	case <-time.After(30 * time.Second):
		t.Fatalf("tandem did not listen within 30s:\n%s", p.Logs())
	}
	return nil
}

// Logs returns what the process logged so far.
func (p *process) Logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// Kill stops the process with SIGKILL and waits for it.
func (p *process) Kill(t testing.TB) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

// Wait waits for the process to exit and returns its exit code.
func (p *process) Wait(t testing.TB, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		t.Fatalf("process did not exit within %v:\n%s", timeout, p.Logs())
		return -1
	}
}

// pushFile reads the pushes a child process's test integration recorded.
func pushFile(t testing.TB, path string) []syncertest.Push {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []syncertest.Push
	for line := range strings.Lines(string(b)) {
		var p syncertest.Push
		if err := json.Unmarshal([]byte(line), &p); err != nil {
			t.Fatalf("push file line %q: %v", line, err)
		}
		out = append(out, p)
	}
	return out
}

// waitPushes waits until the pushes in path satisfy cond.
func waitPushes(t testing.TB, path string, timeout time.Duration, what string, cond func([]syncertest.Push) bool) []syncertest.Push {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ps := pushFile(t, path)
		if cond(ps) {
			return ps
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; %d pushes", what, len(ps))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// client is a small JSON client of the API for tests.
type client struct {
	t     testing.TB
	base  string
	token string
}

// do sends a request with an optional JSON body and decodes a JSON answer
// into out (when not nil); it returns the response with its body read.
func (c *client) do(method, path string, body any, out any, header ...string) *http.Response {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			c.t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	return resp
}

// customer is the API's customer as tests read it.
type customer struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Email    string            `json:"email"`
	Phone    string            `json:"phone"`
	Metadata map[string]string `json:"metadata"`
	Version  int64             `json:"version"`
}

// withEmail returns the live customers whose email is email.
func (c *client) withEmail(email string) []customer {
	c.t.Helper()
	var page struct{ Data []customer }
	if resp := c.do("GET", "/customers?email="+url.QueryEscape(email), nil, &page); resp.StatusCode != http.StatusOK {
		c.t.Fatalf("list by email %s: %s", email, resp.Status)
	}
	return page.Data
}

// mustCreate creates a customer named name and fails the test on any answer
// but 201.
func (c *client) mustCreate(name string) customer {
	c.t.Helper()
	var out customer
	if resp := c.do("POST", "/customers", map[string]any{"name": name}, &out); resp.StatusCode != http.StatusCreated {
		c.t.Fatalf("create %s: %s", name, resp.Status)
	}
	return out
}
