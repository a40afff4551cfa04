// Package salesforce is Tandem's connector to Salesforce Contacts: it signs in
// with OAuth 2.0 (client credentials or JWT bearer, golang.org/x/oauth2),
// writes local customers as Contacts by upsert on an external id field that
// holds Tandem's id, classifies every failure for the engine, and keeps its
// calls inside the org's daily API allocation.
//
// Upserts are group commits (composite.go): the pushes running at the same
// time leave as one composite upsert of up to 200 records, sent when full,
// 50 ms after its last record came or 200 ms after its first, and each push
// gets its own record's result, so one bad record fails alone. The
// connector asks the engine to run 200 of its pushes at once
// (tandem.Concurrent) for batches to fill.
//
// Salesforce sessions carry no expiry: when one ends (401
// INVALID_SESSION_ID), the connector signs in again once for all its
// goroutines and repeats the call once.
//
// Changes are read by polling (poll.go): SOQL on SystemModstamp with an
// overlap window, and the deleted replication endpoint for deletes.
// Outbound messages (outbound.go: SOAP notifications to a secret URL,
// checked against the organization id) make a changed record be fetched at
// once, between polls.
//
// The field mapping (mapping.go) is the pure functions that turn a local
// customer into the Contact fields Tandem writes and back.
package salesforce
