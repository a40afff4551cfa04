package salesforce

import (
	"strings"

	"github.com/tandemsync/tandem"
)

// DefaultExternalIDField is the Contact field holding Tandem's id unless
// configured otherwise.
const DefaultExternalIDField = "Tandem_Id__c"

// NoName is the LastName written for a customer without a name: Salesforce
// requires a LastName. A Contact whose only name is NoName maps back to an
// empty name.
const NoName = "[not provided]"

// Contact holds Contact fields by their API name. An empty value means the
// field is empty: the connector writes it as null.
type Contact map[string]string

// Mapping is one row of the field mapping: the local fields and the Contact
// fields it ties together, and how values go each way.
type Mapping struct {
	Local  []string // as the API names them: "name", "address.line1"
	Remote []string // Contact API names: "FirstName"
	// toRemote writes c's fields into out; prev is the Contact as Tandem
	// last knew it (may be nil), so a mapping can keep what a Salesforce
	// user typed when the local value still says the same.
	toRemote func(c *tandem.Customer, prev, out Contact)
	// toLocal writes ct's fields into c.
	toLocal func(ct Contact, c *tandem.Customer)
}

// Mappings returns the mapping table, the external id field included. The
// README shows it; ToContact and ToCustomer apply it row by row.
func Mappings(externalIDField string) []Mapping {
	return []Mapping{
		{Local: []string{"id"}, Remote: []string{externalIDField},
			toRemote: func(c *tandem.Customer, _, out Contact) { out[externalIDField] = c.ID },
			toLocal:  func(ct Contact, c *tandem.Customer) { c.ID = ct[externalIDField] }},
		{Local: []string{"name"}, Remote: []string{"FirstName", "LastName"},
			toRemote: nameToRemote, toLocal: nameToLocal},
		direct("email", "Email", func(c *tandem.Customer) *string { return &c.Email }),
		direct("phone", "Phone", func(c *tandem.Customer) *string { return &c.Phone }),
		{Local: []string{"address.line1", "address.line2"}, Remote: []string{"MailingStreet"},
			toRemote: func(c *tandem.Customer, _, out Contact) {
				out["MailingStreet"] = JoinStreet(c.Address.Line1, c.Address.Line2)
			},
			toLocal: func(ct Contact, c *tandem.Customer) {
				c.Address.Line1, c.Address.Line2 = SplitStreet(ct["MailingStreet"])
			}},
		direct("address.city", "MailingCity", func(c *tandem.Customer) *string { return &c.Address.City }),
		direct("address.state", "MailingState", func(c *tandem.Customer) *string { return &c.Address.State }),
		direct("address.postal_code", "MailingPostalCode",
			func(c *tandem.Customer) *string { return &c.Address.PostalCode }),
		direct("address.country", "MailingCountry", func(c *tandem.Customer) *string { return &c.Address.Country }),
	}
}

// direct maps one local field to one Contact field, value for value.
func direct(local, remote string, field func(*tandem.Customer) *string) Mapping {
	return Mapping{Local: []string{local}, Remote: []string{remote},
		toRemote: func(c *tandem.Customer, _, out Contact) { out[remote] = *field(c) },
		toLocal:  func(ct Contact, c *tandem.Customer) { *field(c) = ct[remote] },
	}
}

// ToContact returns the Contact fields of c, every mapped field present.
// prev is the Contact as Tandem last read or wrote it (nil if none): when
// its FirstName and LastName still join to c's name, they are kept as they
// are, so a name split by a Salesforce user ("Ludwig" + "van Beethoven")
// survives a round trip.
func ToContact(c *tandem.Customer, externalIDField string, prev Contact) Contact {
	out := Contact{}
	for _, m := range Mappings(externalIDField) {
		m.toRemote(c, prev, out)
	}
	return out
}

// ToCustomer returns the local fields ct holds (ID is Tandem's id, from the
// external id field; empty if the Contact has none yet).
func ToCustomer(ct Contact, externalIDField string) tandem.Customer {
	var c tandem.Customer
	for _, m := range Mappings(externalIDField) {
		m.toLocal(ct, &c)
	}
	return c
}

func nameToRemote(c *tandem.Customer, prev, out Contact) {
	if prev != nil && prev["LastName"] != "" && JoinName(prev["FirstName"], prev["LastName"]) == c.Name {
		out["FirstName"], out["LastName"] = prev["FirstName"], prev["LastName"]
		return
	}
	out["FirstName"], out["LastName"] = SplitName(c.Name)
}

func nameToLocal(ct Contact, c *tandem.Customer) { c.Name = JoinName(ct["FirstName"], ct["LastName"]) }

// SplitName splits a local name into FirstName and LastName. The last word
// is the LastName and the words before it the FirstName ("Mary Ann Smith"
// is "Mary Ann" + "Smith"); a one-word name is the LastName alone; an empty
// name is NoName, since Salesforce requires a LastName. Spaces around the
// name and between the two parts are dropped (two fields cannot keep them:
// "Ada  Lovelace" comes back as "Ada Lovelace"); spaces inside the
// FirstName are kept.
func SplitName(name string) (first, last string) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", NoName
	}
	i := strings.LastIndexFunc(name, isSpace)
	if i < 0 {
		return "", name
	}
	return strings.TrimRightFunc(name[:i], isSpace), name[i+1:]
}

// JoinName is the local name of a Contact: FirstName and LastName joined by
// one space, either alone when the other is empty, and empty for NoName
// alone. SplitName(JoinName(f, l)) == (f, l) whenever l is one word and
// neither has spaces around it; ToContact keeps other splits through its
// prev argument.
func JoinName(first, last string) string {
	first, last = strings.TrimSpace(first), strings.TrimSpace(last)
	if first == "" && last == NoName {
		return ""
	}
	if first == "" || last == "" {
		return first + last
	}
	return first + " " + last
}

func isSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }

// JoinStreet is the MailingStreet of two address lines: line1, then line2 on
// a line of its own when it is set.
func JoinStreet(line1, line2 string) string {
	if line2 == "" {
		return line1
	}
	return line1 + "\n" + line2
}

// SplitStreet splits a MailingStreet into address lines: the first line is
// line1 and the rest, its own line breaks kept, is line2, so that
// JoinStreet(SplitStreet(s)) gives back what a Salesforce user typed.
// Windows line breaks become "\n" and line breaks at the end are dropped.
func SplitStreet(street string) (line1, line2 string) {
	street = strings.ReplaceAll(street, "\r\n", "\n")
	street = strings.TrimRight(street, "\n")
	line1, line2, _ = strings.Cut(street, "\n")
	return line1, line2
}
