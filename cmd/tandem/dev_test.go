package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe to write from the program and read
// from the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var emulatorLine = regexp.MustCompile(`Stripe \(fake\)\s+(http://\S+)`)

// TestDevTwoWay runs `tandem dev` and checks both directions the way its
// banner tells a newcomer to.
func TestDevTwoWay(t *testing.T) {
	t.Parallel()
	var out lockedBuffer
	addrs := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	p := &program{
		getenv: func(k string) string {
			return map[string]string{"TANDEM_ADDR": "127.0.0.1:0", "TANDEM_DEV_EMULATOR_ADDR": "127.0.0.1:0",
				"TANDEM_LOG_LEVEL": "error"}[k]
		},
		stdout: &out, stderr: io.Discard,
		listening: func(addr string) { addrs <- addr },
	}
	done := make(chan error, 1)
	go func() { done <- p.dev(ctx, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("dev returned %v", err)
		}
	})
	var api *client
	select {
	case addr := <-addrs:
		api = &client{t: t, base: "http://" + addr}
	case err := <-done:
		t.Fatalf("dev ended: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("dev did not start")
	}
	m := emulatorLine.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no emulator address in the banner:\n%s", out.String())
	}
	stripeAPI := func(method, path string, form url.Values) map[string]any {
		req, _ := http.NewRequest(method, m[1]+path, strings.NewReader(form.Encode()))
		req.SetBasicAuth(emulatorKey, "")
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&v)
		return v
	}

	created := api.mustCreate("Ada Lovelace")
	var remoteID string
	waitFor(t, 20*time.Second, "the customer on the emulator", func() bool {
		list, _ := stripeAPI("GET", "/v1/customers", nil)["data"].([]any)
		for _, c := range list {
			c := c.(map[string]any)
			if md, _ := c["metadata"].(map[string]any); md["tandem_id"] == created.ID {
				remoteID = c["id"].(string)
			}
		}
		return remoteID != ""
	})
	stripeAPI("POST", "/v1/customers/"+remoteID, url.Values{"name": {"Ada King"}})
	waitFor(t, 20*time.Second, "the emulator's edit in Tandem", func() bool {
		var c customer
		api.do("GET", "/customers/"+created.ID, nil, &c)
		return c.Name == "Ada King"
	})
}

func TestEmulateUsage(t *testing.T) {
	if _, _, err := runCommand(t, nil, "emulate", "paypal"); err == nil || !strings.Contains(err.Error(), "tandem emulate stripe") {
		t.Fatalf("emulate paypal: %v", err)
	}
}
