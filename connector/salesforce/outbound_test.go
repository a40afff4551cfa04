package salesforce

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandemsync/tandem"
	"github.com/tandemsync/tandem/emulator/salesforce"
)

const testOutboundSecret = "outbound-secret-for-tests"

// TestOutboundMessages: the emulator's outbound messages, sent to the
// secret URL, are verified into one nudge per notification (a redelivery
// keeps its id) and acknowledged; Decode asks the engine to fetch.
func TestOutboundMessages(t *testing.T) {
	var (
		mu     sync.Mutex
		events []tandem.InboundEvent
		c      *Connector
	)
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		evs, err := c.Verify(&tandem.Delivery{Header: r.Header, Body: body,
			PathSecret: strings.TrimPrefix(r.URL.Path, "/webhooks/salesforce/")})
		if err != nil {
			t.Errorf("Verify: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		events = append(events, evs...)
		mu.Unlock()
		contentType, ack := c.Ack()
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(ack)
	}))
	defer endpoint.Close()
	h := newHarness(t, salesforce.Config{Outbound: salesforce.Outbound{URL: endpoint.URL + "/webhooks/salesforce/" + testOutboundSecret},
		Faults: salesforce.Faults{DuplicateOutbound: salesforce.Chance{Every: 1}}})
	c = h.connector(t, func(cfg *Config) { cfg.OrgID, cfg.OutboundSecret = h.em.OrgID(), testOutboundSecret })

	created, err := h.em.UI().CreateContact(salesforce.Fields{"LastName": "Lovelace"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.em.WaitOutbound(ctx); err != nil {
		t.Fatalf("the messages were not all acknowledged: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 2 || events[0].ID != events[1].ID || events[0].Type != eventNotified {
		t.Fatalf("events %+v; want the notification twice with one id", events)
	}
	ch, ok, err := c.Decode(&events[0])
	if err != nil || !ok || !ch.Nudge || ch.RemoteID != created.ID || ch.Kind != tandem.KindCustomer || ch.Customer != nil {
		t.Fatalf("Decode = %+v, %v, %v; want a nudge about %s", ch, ok, err, created.ID)
	}
}

// TestOutboundRefusals: a delivery to a wrong secret, from another
// organization, not a SOAP message, or with outbound messages off is
// refused with EINVALID; notifications of another sObject are skipped; an
// 18-character organization id matches its 15-character form.
func TestOutboundRefusals(t *testing.T) {
	const org15, org18 = "00D5g0000000001", "00D5g0000000001EAA"
	message := func(org, object string) []byte {
		return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>` + org + `</OrganizationId>
   <Notification><Id>04l000000000001AAA</Id>
    <sObject xsi:type="sf:` + object + `" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>003000000000001AAA</sf:Id></sObject>
   </Notification>
  </notifications>
 </soapenv:Body>
</soapenv:Envelope>`)
	}
	on := func(cfg *Config) { cfg.OrgID, cfg.OutboundSecret = org18, testOutboundSecret }
	for _, tc := range []struct {
		name   string
		edit   func(*Config)
		secret string
		body   []byte
		field  string // of the refusal; "-" when accepted
		events int
	}{
		{name: "accepted", edit: on, secret: testOutboundSecret, body: message(org15, "Contact"), field: "-", events: 1},
		{name: "other sObject", edit: on, secret: testOutboundSecret, body: message(org18, "Lead"), field: "-"},
		{name: "wrong secret", edit: on, secret: "guess", body: message(org18, "Contact")},
		{name: "no secret", edit: on, body: message(org18, "Contact")},
		{name: "other organization", edit: on, secret: testOutboundSecret, body: message("00D5g0000000002", "Contact"),
			field: "OrganizationId"},
		{name: "not SOAP", edit: on, secret: testOutboundSecret, body: []byte(`{"id":"evt_1"}`)},
		{name: "outbound off", secret: testOutboundSecret, body: message(org18, "Contact")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newConnector(t, tc.edit)
			events, err := c.Verify(&tandem.Delivery{Body: tc.body, PathSecret: tc.secret})
			if tc.field == "-" {
				if err != nil || len(events) != tc.events {
					t.Fatalf("Verify = %v, %v; want %d events", events, err, tc.events)
				}
				return
			}
			var te *tandem.Error
			if events != nil || !errors.As(err, &te) || te.Code != tandem.EINVALID || te.Field != tc.field {
				t.Fatalf("Verify = %v, %v; want an EINVALID refusal naming %q", events, err, tc.field)
			}
			if strings.Contains(err.Error(), testOutboundSecret) {
				t.Errorf("the refusal %q shows the secret", err)
			}
		})
	}
}
