package salesforce

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// maxNotifications is the most notifications one outbound message carries.
const maxNotifications = 100

// notification is one changed record on its way to the endpoint.
type notification struct {
	id       string // the notification's id: a duplicate has the same
	objectID string
	first    time.Time // queued at
}

// messenger delivers outbound messages from one goroutine: it sends the
// pending notifications, up to 100 in one message, and keeps them until the
// endpoint acknowledges the message, retrying after a doubling backoff for
// at most Outbound.RetryFor. Its timing follows the real clock, not
// Config.Now. Its endpoint can change (setURL); without one, changes send
// nothing.
type messenger struct {
	cfg    Outbound // its URL is the first endpoint; url holds the current one
	orgID  string
	object string
	client *http.Client
	log    *slog.Logger

	ctx    context.Context // cancelled by stop
	cancel context.CancelFunc
	done   chan struct{} // closed when run returns
	wake   chan struct{} // 1-buffered: a notification was queued

	mu      sync.Mutex
	url     string
	dropped int64 // times setURL("") dropped what was pending
	seq     int64
	pending []notification
	idle    chan struct{} // closed while nothing is pending
}

func newMessenger(cfg Config) *messenger {
	ctx, cancel := context.WithCancel(context.Background())
	m := &messenger{cfg: cfg.Outbound, url: cfg.Outbound.URL, orgID: cfg.OrgID, object: cfg.Object,
		client: &http.Client{Timeout: cfg.Outbound.Timeout}, log: cfg.Logger,
		ctx: ctx, cancel: cancel, done: make(chan struct{}), wake: make(chan struct{}, 1), idle: make(chan struct{})}
	close(m.idle)
	go m.run()
	return m
}

// setURL changes the endpoint: what is pending goes to the new one, or is
// dropped when url is empty.
func (m *messenger) setURL(url string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.url = url
	if url == "" {
		m.dropped++
		m.pending = nil
		m.settle()
	}
}

// target returns the endpoint, empty when there is none.
func (m *messenger) target() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.url
}

// notify queues copies notifications of a change to the record id.
func (m *messenger) notify(objectID string, copies int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.url == "" || copies == 0 || m.ctx.Err() != nil {
		return
	}
	m.seq++
	n := notification{id: newID("04l", m.seq), objectID: objectID, first: time.Now()}
	if len(m.pending) == 0 {
		m.idle = make(chan struct{})
	}
	for range copies {
		m.pending = append(m.pending, n)
	}
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

func (m *messenger) run() {
	defer close(m.done)
	backoff := m.cfg.Backoff
	for {
		url, dropped, batch := m.batch()
		if len(batch) == 0 {
			select {
			case <-m.wake:
				continue
			case <-m.ctx.Done():
				return
			}
		}
		err := m.send(url, batch)
		if err == nil {
			m.acknowledged(dropped, len(batch))
			backoff = m.cfg.Backoff
			continue
		}
		m.log.Info("salesforce emulator: outbound message not acknowledged", "url", url,
			"notifications", len(batch), "retry_in", backoff, "err", err)
		m.expire()
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-m.ctx.Done():
			t.Stop()
			return
		}
		backoff = min(2*backoff, m.cfg.MaxBackoff)
	}
}

// batch returns the endpoint, the count of drops so far and the first
// pending notifications, at most 100.
func (m *messenger) batch() (url string, dropped int64, batch []notification) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.url, m.dropped, append([]notification(nil), m.pending[:min(len(m.pending), maxNotifications)]...)
}

// acknowledged forgets the first n pending notifications, unless setURL
// has dropped them since the batch was taken (dropped is the count then).
func (m *messenger) acknowledged(dropped int64, n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if dropped != m.dropped {
		return
	}
	m.pending = m.pending[n:]
	m.settle()
}

// expire drops the notifications retried for longer than RetryFor.
func (m *messenger) expire() {
	m.mu.Lock()
	defer m.mu.Unlock()
	kept := m.pending[:0]
	for _, n := range m.pending {
		if time.Since(n.first) < m.cfg.RetryFor {
			kept = append(kept, n)
		}
	}
	m.pending = kept
	m.settle()
}

// settle marks the messenger idle when nothing is pending; m.mu is held.
func (m *messenger) settle() {
	if len(m.pending) == 0 {
		select {
		case <-m.idle:
		default:
			close(m.idle)
		}
	}
}

// send posts one message and reports whether the endpoint acknowledged it.
func (m *messenger) send(url string, batch []notification) error {
	req, err := http.NewRequestWithContext(m.ctx, http.MethodPost, url, bytes.NewReader(envelope(m.orgID, m.object, batch)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `""`)
	req.Header.Set("User-Agent", "Salesforce Outbound Messaging")
	resp, err := m.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("endpoint answered %s", resp.Status)
	}
	if !acked(body) {
		return fmt.Errorf("the answer holds no <Ack>true</Ack>")
	}
	return nil
}

// envelope is the SOAP message of a batch of notifications.
func envelope(orgID, object string, batch []notification) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` +
		"\n <soapenv:Body>\n  <notifications xmlns=\"http://soap.sforce.com/2005/09/outbound\">\n")
	fmt.Fprintf(&b, "   <OrganizationId>%s</OrganizationId>\n", orgID)
	fmt.Fprintf(&b, "   <ActionId>%s</ActionId>\n", newID("04k", 1))
	b.WriteString("   <SessionId xsi:nil=\"true\"/>\n")
	for _, n := range batch {
		fmt.Fprintf(&b, "   <Notification>\n    <Id>%s</Id>\n", n.id)
		fmt.Fprintf(&b, "    <sObject xsi:type=\"sf:%s\" xmlns:sf=\"urn:sobject.enterprise.soap.sforce.com\">\n", xmlText(object))
		fmt.Fprintf(&b, "     <sf:Id>%s</sf:Id>\n    </sObject>\n   </Notification>\n", n.objectID)
	}
	b.WriteString("  </notifications>\n </soapenv:Body>\n</soapenv:Envelope>\n")
	return b.Bytes()
}

func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// acked reports whether a SOAP answer holds an Ack element that says true,
// whatever its namespace.
func acked(body []byte) bool {
	dec := xml.NewDecoder(bytes.NewReader(body))
	inAck := false
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch t := tok.(type) {
		case xml.StartElement:
			inAck = t.Name.Local == "Ack"
		case xml.CharData:
			if inAck && strings.TrimSpace(string(t)) == "true" {
				return true
			}
		case xml.EndElement:
			inAck = false
		}
	}
}

// wait blocks until nothing is pending, or ctx is done.
func (m *messenger) wait(ctx context.Context) error {
	m.mu.Lock()
	idle := m.idle
	m.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stop ends the deliveries; what is pending is abandoned.
func (m *messenger) stop() {
	m.cancel()
	<-m.done
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pending = nil
	m.settle()
}
