package salesforce

import (
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"
)

const ackBody = `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>
<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse>
</soapenv:Body></soapenv:Envelope>`

// soapMessage is an outbound message as a listener decodes it.
type soapMessage struct {
	Body struct {
		Notifications struct {
			OrganizationID string `xml:"OrganizationId"`
			Notification   []struct {
				ID      string `xml:"Id"`
				SObject struct {
					ID string `xml:"Id"`
				} `xml:"sObject"`
			} `xml:"Notification"`
		} `xml:"notifications"`
	} `xml:"Body"`
}

// listener is an outbound message endpoint that refuses the first
// messages and acknowledges the others.
type listener struct {
	mu       sync.Mutex
	refuse   int // messages still to refuse
	messages []soapMessage
	acked    []bool
}

func (l *listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var m soapMessage
	if err := xml.Unmarshal(body, &m); err != nil || r.Header.Get("Content-Type") != "text/xml; charset=utf-8" {
		http.Error(w, "bad message", http.StatusBadRequest)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.messages = append(l.messages, m)
	ack := l.refuse == 0
	l.acked = append(l.acked, ack)
	if !ack {
		l.refuse--
		// A 200 without the Ack is no acknowledgement either.
		_, _ = io.WriteString(w, `<Envelope><Body><notificationsResponse><Ack>false</Ack></notificationsResponse></Body></Envelope>`)
		return
	}
	_, _ = io.WriteString(w, ackBody)
}

// received returns, for the acknowledged messages, the notification ids
// and the record ids in order of arrival.
func (l *listener) received(t *testing.T, orgID string) (notifications, records []string) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, m := range l.messages {
		if got := m.Body.Notifications.OrganizationID; got != orgID {
			t.Errorf("OrganizationId %q, want %q", got, orgID)
		}
		if !l.acked[i] {
			continue
		}
		for _, n := range m.Body.Notifications.Notification {
			notifications = append(notifications, n.ID)
			records = append(records, n.SObject.ID)
		}
	}
	return notifications, records
}

func newOutboundHarness(t *testing.T, l *listener, f Faults) *harness {
	t.Helper()
	srv := httptest.NewServer(l)
	t.Cleanup(srv.Close)
	return newHarness(t, Config{Outbound: Outbound{URL: srv.URL, Backoff: time.Millisecond}, Faults: f})
}

func (h *harness) waitOutbound(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := h.em.WaitOutbound(ctx); err != nil {
		t.Fatalf("outbound messages still pending: %v", err)
	}
}

func TestOutboundMessagesRetriedUntilAck(t *testing.T) {
	l := &listener{refuse: 2}
	h := newOutboundHarness(t, l, Faults{})
	a := h.mustCreate(t, "tdmc_1", map[string]any{"LastName": "A"})
	b := h.mustCreate(t, "tdmc_2", map[string]any{"LastName": "B"})
	if _, err := h.em.UI().UpdateContact(a, Fields{"Email": "a@example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := h.em.UI().DeleteContact(b); err != nil { // no workflow fires on delete
		t.Fatal(err)
	}
	h.waitOutbound(t)

	notifications, records := l.received(t, h.em.OrgID())
	if want := []string{a, b, a}; len(records) != 3 || records[0] != want[0] || records[1] != want[1] || records[2] != want[2] {
		t.Errorf("acknowledged records %v, want %v", records, want)
	}
	seen := map[string]bool{}
	for _, n := range notifications {
		seen[n] = true
	}
	if len(seen) != 3 {
		t.Errorf("notification ids %v, want 3 distinct", notifications)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.messages) < 3 || l.acked[0] || l.acked[1] {
		t.Errorf("%d messages (acked %v), want the first two refused and then retried", len(l.messages), l.acked)
	}
}

func TestOutboundFaults(t *testing.T) {
	t.Run("drop", func(t *testing.T) {
		l := &listener{}
		h := newOutboundHarness(t, l, Faults{DropOutbound: Chance{Every: 2}})
		first := h.mustCreate(t, "tdmc_1", map[string]any{"LastName": "A"})
		h.mustCreate(t, "tdmc_2", map[string]any{"LastName": "B"})
		h.waitOutbound(t)
		if _, records := l.received(t, h.em.OrgID()); len(records) != 1 || records[0] != first {
			t.Errorf("records %v, want only %s", records, first)
		}
	})
	t.Run("duplicate", func(t *testing.T) {
		l := &listener{}
		h := newOutboundHarness(t, l, Faults{DuplicateOutbound: Chance{Every: 1}})
		id := h.mustCreate(t, "tdmc_1", map[string]any{"LastName": "A"})
		h.waitOutbound(t)
		notifications, records := l.received(t, h.em.OrgID())
		if len(records) != 2 || records[0] != id || records[1] != id || notifications[0] != notifications[1] {
			t.Errorf("notifications %v for %v, want one notification of %s twice", notifications, records, id)
		}
	})
}

func TestAcked(t *testing.T) {
	for _, tc := range []struct {
		body string
		want bool
	}{
		{ackBody, true},
		{`<Envelope><Body><notificationsResponse><Ack> true </Ack></notificationsResponse></Body></Envelope>`, true},
		{`<Envelope><Body><notificationsResponse><Ack>false</Ack></notificationsResponse></Body></Envelope>`, false},
		{`<Envelope><Body><Other>true</Other></Body></Envelope>`, false},
		{`ok`, false},
		{``, false},
	} {
		if got := acked([]byte(tc.body)); got != tc.want {
			t.Errorf("acked(%q) = %v, want %v", tc.body, got, tc.want)
		}
	}
}

func TestSetOutbound(t *testing.T) {
	l := &listener{}
	srv := httptest.NewServer(l)
	t.Cleanup(srv.Close)
	h := newHarness(t, Config{Outbound: Outbound{Backoff: time.Millisecond}})
	ui := h.em.UI()
	before, err := ui.CreateContact(Fields{"LastName": "Before"})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.em.SetOutbound("ftp://example.com/x"); err == nil {
		t.Error("SetOutbound accepted an ftp URL")
	}
	if got := h.em.OutboundURL(); got != "" {
		t.Fatalf("OutboundURL() = %q before any was set", got)
	}

	// Set while changes are made: the ones after it reach the endpoint.
	var wg sync.WaitGroup
	wg.Go(func() {
		for range 10 {
			if err := h.em.SetOutbound(srv.URL); err != nil {
				t.Error(err)
			}
		}
	})
	for range 10 {
		if _, err := ui.UpdateContact(before.ID, Fields{"Email": "b@example.com"}); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	after, err := ui.CreateContact(Fields{"LastName": "After"})
	if err != nil {
		t.Fatal(err)
	}
	h.waitOutbound(t)
	if got := h.em.OutboundURL(); got != srv.URL {
		t.Errorf("OutboundURL() = %q, want %q", got, srv.URL)
	}
	_, records := l.received(t, h.em.OrgID())
	// The create before any endpoint was set sends nothing: at most the 10
	// updates, then the create after.
	if n := len(records); n == 0 || n > 11 || records[n-1] != after.ID ||
		slices.ContainsFunc(records[:n-1], func(id string) bool { return id != before.ID }) {
		t.Errorf("records %v, want at most 10 of %s, then %s", records, before.ID, after.ID)
	}

	if err := h.em.SetOutbound(""); err != nil {
		t.Fatal(err)
	}
	if _, err := ui.UpdateContact(after.ID, Fields{"Email": "a@example.com"}); err != nil {
		t.Fatal(err)
	}
	h.waitOutbound(t)
	if _, again := l.received(t, h.em.OrgID()); len(again) != len(records) {
		t.Errorf("%d records after the endpoint was removed, want %d", len(again), len(records))
	}
}
