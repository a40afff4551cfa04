// Package salesforce is a stateful, in-process emulator of the part of the
// Salesforce REST API that Tandem uses for Contacts. Tandem's tests run
// against it instead of a Salesforce org.
//
// It serves, as an http.Handler:
//
//   - POST /services/oauth2/token: the client credentials and JWT bearer
//     (RS256) grants. Sessions expire after a time of inactivity, and then
//     every API call answers 401 INVALID_SESSION_ID.
//   - /services/data/vNN.N/sobjects/Contact/{id} (GET, DELETE), upsert by
//     external id (PATCH .../Contact/{field}/{value}) and read by it (GET).
//   - PATCH /services/data/vNN.N/composite/sobjects/Contact/{field}: the
//     composite upsert of up to 200 records, with per-item results.
//   - GET /services/data/vNN.N/query?q=: a SOQL subset (SELECT fields FROM
//     Contact [WHERE SystemModstamp > t] [ORDER BY SystemModstamp[, Id]]
//     [LIMIT n]), paged with nextRecordsUrl.
//   - GET .../sobjects/Contact/updated/ and .../deleted/: the replication
//     endpoints.
//   - GET /services/data/vNN.N/limits: the daily API allocation.
//   - GET /: a page listing the Contacts, whose forms (POST /ui/contacts...)
//     create, edit and delete them as a Salesforce user, through Editor.
//
// Every API answer carries Sforce-Limit-Info; past the daily allocation the
// API answers 403 REQUEST_LIMIT_EXCEEDED. Errors are Salesforce's JSON array
// of {message, errorCode, fields}. With an outbound message endpoint
// configured (or set later with SetOutbound), every create or update of a
// Contact is delivered as a SOAP notification, retried until the endpoint
// answers the Ack.
//
// It can misbehave on purpose (Faults): latency, 500s and 503s, transient
// 403 REQUEST_LIMIT_EXCEEDED (Salesforce has no 429), dropped and
// duplicated outbound messages, and ExpireSessions ends every session at
// once. Editor changes Contacts as a Salesforce user would.
//
// Layout: emulator.go holds the Emulator, its configuration and routes;
// api.go wraps every API endpoint (session, limits, faults, request log);
// errors.go the error shape; auth.go the token endpoint; contact.go the
// Contact and its rules; contact_api.go, query.go and replication.go the
// endpoints; outbound.go the outbound messages; faults.go the fault
// switches; editor.go the changes made as a user; page.go the page.
package salesforce
