package salesforce

import (
	"crypto/subtle"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"strings"

	"github.com/tandemsync/tandem"
)

// eventNotified is the type of the events an outbound message carries: a
// record changed, and its state is to be fetched.
const eventNotified = "notified"

// outboundMessage is the part of an outbound message (a SOAP envelope) that
// Tandem reads.
type outboundMessage struct {
	Body struct {
		Notifications struct {
			OrganizationID string `xml:"OrganizationId"`
			Notification   []struct {
				ID      string `xml:"Id"`
				SObject struct {
					Type string `xml:"http://www.w3.org/2001/XMLSchema-instance type,attr"`
					ID   string `xml:"Id"`
				} `xml:"sObject"`
			} `xml:"Notification"`
		} `xml:"notifications"`
	} `xml:"Body"`
}

// notifiedRecord is the payload of a notified event.
type notifiedRecord struct {
	ID string `json:"id"`
}

// Verify implements tandem.Source for outbound messages, which Salesforce
// does not sign: the delivery must come to the secret URL
// (Config.OutboundSecret as its last segment) and name the organization
// Config.OrgID. Each notification becomes one event, its id the
// notification's (a redelivery has the same), which the engine treats as
// "fetch this record now": the message's own fields are not trusted.
// Notifications of another sObject are skipped.
func (c *Connector) Verify(d *tandem.Delivery) ([]tandem.InboundEvent, error) {
	if c.cfg.OutboundSecret == "" || c.cfg.OrgID == "" {
		return nil, &tandem.Error{Code: tandem.EINVALID,
			Message: "salesforce: outbound messages are off (set the organization id and the outbound secret)"}
	}
	if subtle.ConstantTimeCompare([]byte(d.PathSecret), []byte(c.cfg.OutboundSecret)) != 1 {
		return nil, &tandem.Error{Code: tandem.EINVALID, Message: "salesforce: the URL's secret is wrong"}
	}
	var msg outboundMessage
	if err := xml.Unmarshal(d.Body, &msg); err != nil {
		return nil, &tandem.Error{Code: tandem.EINVALID, Message: "salesforce: the body is not an outbound message"}
	}
	n := msg.Body.Notifications
	if !sameOrg(n.OrganizationID, c.cfg.OrgID) {
		return nil, &tandem.Error{Code: tandem.EINVALID, Field: "OrganizationId",
			Message: fmt.Sprintf("salesforce: the message comes from organization %q, not ours", n.OrganizationID)}
	}
	var events []tandem.InboundEvent
	for _, note := range n.Notification {
		_, object, _ := strings.Cut(note.SObject.Type, ":") // sf:Contact
		if object != c.cfg.Object {
			continue
		}
		if note.ID == "" || note.SObject.ID == "" {
			return nil, &tandem.Error{Code: tandem.EINVALID, Field: "Notification",
				Message: "salesforce: a notification without its id or its record's id"}
		}
		payload, err := json.Marshal(notifiedRecord{ID: note.SObject.ID})
		if err != nil {
			return nil, err
		}
		events = append(events, tandem.InboundEvent{ID: note.ID, Type: eventNotified, Payload: payload})
	}
	return events, nil
}

// sameOrg says whether two organization ids name the same organization:
// Salesforce writes them with 15 or 18 characters (the last three encode
// the case of the first 15).
func sameOrg(got, want string) bool {
	if len(got) < 15 || len(want) < 15 {
		return false
	}
	return got[:15] == want[:15]
}

// ack is the answer Salesforce needs to stop redelivering a message.
const ack = `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
 <soapenv:Body>
  <notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound">
   <Ack>true</Ack>
  </notificationsResponse>
 </soapenv:Body>
</soapenv:Envelope>
`

// Ack implements tandem.Acknowledger: the SOAP acknowledgement, sent once
// the message's events are stored.
func (c *Connector) Ack() (contentType string, body []byte) {
	return "text/xml; charset=utf-8", []byte(ack)
}
