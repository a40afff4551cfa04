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

var (
	stripeLine     = regexp.MustCompile(`Stripe \(fake\)\s+(http://\S+)`)
	salesforceLine = regexp.MustCompile(`Salesforce \(fake\)\s+(http://\S+)`)
	// contactForm is the action of a Contact's edit form on the Salesforce
	// emulator's page.
	contactForm = regexp.MustCompile(`action="/ui/contacts/(\w+)"`)
)

// TestDevThreeWay runs `tandem dev` and checks every direction the way its
// banner tells a newcomer to: a customer created through the API reaches
// both emulators, an edit through Stripe's API reaches Tandem and
// Salesforce, and an edit posted to the Salesforce page's form reaches
// Tandem and Stripe. Salesforce is not polled, so that edit can only come
// through the outbound message dev points at Tandem.
func TestDevThreeWay(t *testing.T) {
	t.Parallel()
	var out lockedBuffer
	addrs := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	p := &program{
		getenv: func(k string) string {
			return map[string]string{"TANDEM_ADDR": "127.0.0.1:0", "TANDEM_DEV_EMULATOR_ADDR": "127.0.0.1:0",
				"TANDEM_DEV_SALESFORCE_ADDR": "127.0.0.1:0", "SALESFORCE_POLL_INTERVAL": "0",
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
	stripeURL, sfURL := stripeLine.FindStringSubmatch(out.String()), salesforceLine.FindStringSubmatch(out.String())
	if stripeURL == nil || sfURL == nil {
		t.Fatalf("no emulator addresses in the banner:\n%s", out.String())
	}
	stripeAPI := func(method, path string, form url.Values) map[string]any {
		req, _ := http.NewRequest(method, stripeURL[1]+path, strings.NewReader(form.Encode()))
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
	stripeCustomer := func(tandemID string) map[string]any {
		list, _ := stripeAPI("GET", "/v1/customers", nil)["data"].([]any)
		for _, c := range list {
			c := c.(map[string]any)
			if md, _ := c["metadata"].(map[string]any); md["tandem_id"] == tandemID {
				return c
			}
		}
		return nil
	}
	// sfPage gets the Salesforce page (form nil) or posts form to path, as
	// a browser that does not follow the redirect.
	sfPage := func(path string, form url.Values) (int, string) {
		method, body := http.MethodGet, io.Reader(nil)
		if form != nil {
			method, body = http.MethodPost, strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, sfURL[1]+path, body)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		page, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(page)
	}

	created := api.mustCreate("Ada Lovelace")
	var remoteID string
	waitFor(t, 20*time.Second, "the customer on both emulators", func() bool {
		if c := stripeCustomer(created.ID); c != nil {
			remoteID = c["id"].(string)
		}
		_, page := sfPage("/", nil)
		return remoteID != "" && strings.Contains(page, "<code>"+created.ID+"</code>")
	})

	stripeAPI("POST", "/v1/customers/"+remoteID, url.Values{"name": {"Ada King"}})
	waitFor(t, 20*time.Second, "the Stripe edit in Tandem and Salesforce", func() bool {
		var c customer
		api.do("GET", "/customers/"+created.ID, nil, &c)
		_, page := sfPage("/", nil)
		return c.Name == "Ada King" && strings.Contains(page, "<td>Ada</td><td>King</td>")
	})

	_, page := sfPage("/", nil)
	m := contactForm.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no Contact to edit on the Salesforce page:\n%s", page)
	}
	const phone = "+44 20 7946 0000"
	if status, page := sfPage("/ui/contacts/"+m[1], url.Values{"Phone": {phone}}); status != http.StatusSeeOther {
		t.Fatalf("the Salesforce page's edit answered %d:\n%s", status, page)
	}
	waitFor(t, 20*time.Second, "the Salesforce page's edit in Tandem and Stripe", func() bool {
		var c customer
		api.do("GET", "/customers/"+created.ID, nil, &c)
		sc := stripeCustomer(created.ID)
		return c.Phone == phone && sc != nil && sc["phone"] == phone
	})
}

func TestEmulateUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "tandem emulate salesforce [-addr host:port] [-outbound-url url]"},
		{[]string{"paypal"}, "tandem emulate stripe"},
		{[]string{"salesforce", "now"}, `unexpected argument "now"`},
		{[]string{"salesforce", "-outbound-url", "ftp://example.com/x"}, "outbound message URL"},
		{[]string{"salesforce", "-webhook-url", "http://example.com/x"}, "flag provided but not defined: -webhook-url"},
	} {
		if _, _, err := runCommand(t, nil, append([]string{"emulate"}, tc.args...)...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("emulate %v: %v, want an error with %q", tc.args, err, tc.want)
		}
	}
}

// TestEmulateSalesforce runs the Salesforce emulator alone: it says where
// it listens and with which credentials, serves its page and stops with
// the context.
func TestEmulateSalesforce(t *testing.T) {
	var out lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	p := &program{getenv: func(string) string { return "" }, stdout: &out, stderr: io.Discard}
	done := make(chan error, 1)
	go func() {
		done <- p.run(ctx, []string{"emulate", "salesforce", "-addr", "127.0.0.1:0", "-outbound-url", "http://127.0.0.1:1/webhooks/salesforce/x"})
	}()
	line := regexp.MustCompile(`Salesforce emulator on (http://\S+) \(client id ` + regexp.QuoteMeta(sfEmulatorClientID) + `, client secret \S+, org id 00D\w+\)`)
	var m []string
	waitFor(t, 10*time.Second, "the emulator's address", func() bool { m = line.FindStringSubmatch(out.String()); return m != nil })
	resp, err := http.Get(m[1] + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "<code>http://127.0.0.1:1/webhooks/salesforce/x</code>") {
		t.Errorf("GET / answered %d without the outbound URL:\n%s", resp.StatusCode, page)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("emulate returned %v", err)
	}
}
