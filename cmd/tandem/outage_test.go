package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/tandemsync/tandem/internal/pgtest"
)

// TestDatabaseOutage: while the database is unreachable, /readyz fails and
// every call answers 503 (never a silent loss); when it returns, Tandem
// recovers without a restart and nothing stored before is lost.
func TestDatabaseOutage(t *testing.T) {
	t.Parallel()
	dbURL, err := url.Parse(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := newCutProxy(t, dbURL.Host)
	dbURL.Host = proxy.addr
	c := runInProcess(t, map[string]string{"TANDEM_DATABASE_URL": dbURL.String()})

	before := c.mustCreate("before the outage")
	proxy.cut()
	for _, call := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/readyz", nil},
		{"POST", "/customers", map[string]any{"name": "during"}},
		{"PATCH", "/customers/" + before.ID, map[string]any{"name": "during"}},
		{"GET", "/customers/" + before.ID, nil},
		{"GET", "/customers", nil},
	} {
		var p struct{ Status int }
		resp := c.do(call.method, call.path, call.body, &p)
		if resp.StatusCode != http.StatusServiceUnavailable || p.Status != http.StatusServiceUnavailable {
			t.Errorf("%s %s during the outage: %s", call.method, call.path, resp.Status)
		}
	}
	proxy.restore()
	waitFor(t, 30*time.Second, "readyz after the outage", func() bool {
		return c.do("GET", "/readyz", nil, nil).StatusCode == http.StatusOK
	})
	after := c.mustCreate("after the outage")
	var list struct{ Data []customer }
	c.do("GET", "/customers", nil, &list)
	if len(list.Data) != 2 || list.Data[0].ID != before.ID || list.Data[0].Version != 1 || list.Data[1].ID != after.ID {
		t.Fatalf("after the outage the catalog holds %+v", list.Data)
	}
}

// runInProcess runs `tandem serve` in this process with env as its whole
// environment (plus a free loopback port), after edits change the program,
// and returns a client of its API. The program stops when the test ends and must then exit cleanly.
// It logs errors only; TANDEM_TEST_LOG=debug (or info, warn) logs at that
// level instead and prints the log of a test that failed.
func runInProcess(t testing.TB, env map[string]string, edits ...func(*program)) *client {
	t.Helper()
	env["TANDEM_ADDR"] = "127.0.0.1:0"
	env["TANDEM_LOG_LEVEL"] = "error"
	var log io.Writer = io.Discard
	if level := os.Getenv("TANDEM_TEST_LOG"); level != "" {
		env["TANDEM_LOG_LEVEL"] = level
		log = failureLog(t)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrs, done := make(chan string, 1), make(chan error, 1)
	p := &program{
		getenv: func(k string) string { return env[k] },
		stdout: io.Discard, stderr: log,
		listening: func(addr string) { addrs <- addr },
	}
	for _, edit := range edits {
		edit(p)
	}
	go func() { done <- p.run(ctx, []string{"serve"}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve returned %v", err)
		}
	})
	select {
	case addr := <-addrs:
		return &client{t: t, base: "http://" + addr}
	case err := <-done:
		done <- err // for the cleanup
		t.Fatalf("serve ended before listening: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not listen within 30s")
	}
	return nil
}

// failureLog returns a writer whose text is printed when t has failed, at
// its end.
func failureLog(t testing.TB) io.Writer {
	var log lockedBuffer
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the server's log:\n%s", log.String())
		}
	})
	return &log
}

// cutProxy forwards TCP connections to a target until cut: then it drops
// every open connection and every new one, until restored.
type cutProxy struct {
	addr   string
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]struct{}
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{addr: ln.Addr().String(), target: target, conns: map[net.Conn]struct{}{}}
	t.Cleanup(func() { _ = ln.Close(); p.cut() })
	go func() {
		for {
			conn, err := ln.Accept()
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err == nil {
				go p.serve(conn)
			}
		}
	}()
	return p
}

func (p *cutProxy) serve(client net.Conn) {
	p.mu.Lock()
	down := p.down
	p.mu.Unlock()
	if down {
		_ = client.Close()
		return
	}
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		_ = client.Close()
		return
	}
	p.mu.Lock()
	p.conns[client], p.conns[server] = struct{}{}, struct{}{}
	p.mu.Unlock()
	go func() { _, _ = io.Copy(server, client); _ = server.Close() }()
	_, _ = io.Copy(client, server)
	_ = client.Close()
}

func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		_ = c.Close()
	}
	clear(p.conns)
}

func (p *cutProxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}
