// Package salesforce will be Tandem's connector to Salesforce Contacts. For
// now it holds only the field mapping (mapping.go): the pure functions that
// turn a local customer into the Contact fields Tandem writes and back. The
// connector proper (OAuth sessions, upsert by external id, composite
// batches, polling and outbound messages) comes next, against the emulator
// in emulator/salesforce.
package salesforce
