package salesforce

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tandemsync/tandem"
)

func TestSplitName(t *testing.T) {
	for _, tc := range []struct {
		name, first, last string
	}{
		{"Ada Lovelace", "Ada", "Lovelace"},
		{"Cher", "", "Cher"},
		{"Mary Ann Smith", "Mary Ann", "Smith"},
		{"  Ada   Lovelace  ", "Ada", "Lovelace"},
		{"Mary  Ann Smith", "Mary  Ann", "Smith"},
		{"Ada\tLovelace", "Ada", "Lovelace"},
		{"", "", NoName},
		{"   ", "", NoName},
	} {
		first, last := SplitName(tc.name)
		if first != tc.first || last != tc.last {
			t.Errorf("SplitName(%q) = %q, %q; want %q, %q", tc.name, first, last, tc.first, tc.last)
		}
	}
}

func TestJoinName(t *testing.T) {
	for _, tc := range []struct {
		first, last, want string
	}{
		{"Ada", "Lovelace", "Ada Lovelace"},
		{"", "Cher", "Cher"},
		{"Cher", "", "Cher"}, // not writable to Salesforce, but readable
		{"Ludwig", "van Beethoven", "Ludwig van Beethoven"},
		{" Ada ", " Lovelace ", "Ada Lovelace"},
		{"", NoName, ""},
		{"Someone", NoName, "Someone " + NoName},
		{"", "", ""},
	} {
		if got := JoinName(tc.first, tc.last); got != tc.want {
			t.Errorf("JoinName(%q, %q) = %q, want %q", tc.first, tc.last, got, tc.want)
		}
	}
}

// What a Salesforce user types must come back unchanged after a trip
// through a local name, with the Contact Tandem last knew as the hint.
func TestNameRoundTripFromSalesforce(t *testing.T) {
	for _, tc := range []struct{ first, last string }{
		{"Ada", "Lovelace"},
		{"", "Cher"},
		{"Mary Ann", "Smith"},
		{"Ludwig", "van Beethoven"},
		{"Mary  Ann", "Smith"},
		{"José María", "García López"},
	} {
		typed := Contact{"FirstName": tc.first, "LastName": tc.last}
		c := ToCustomer(typed, DefaultExternalIDField)
		back := ToContact(&c, DefaultExternalIDField, typed)
		if back["FirstName"] != tc.first || back["LastName"] != tc.last {
			t.Errorf("%q + %q came back as %q + %q", tc.first, tc.last, back["FirstName"], back["LastName"])
		}
	}
}

// A local rename is split afresh, whatever Salesforce held before.
func TestNameChangedLocallyIsSplitAgain(t *testing.T) {
	prev := Contact{"FirstName": "Ludwig", "LastName": "van Beethoven"}
	c := tandem.Customer{Name: "Ludwig van Beethoven II"}
	got := ToContact(&c, DefaultExternalIDField, prev)
	if got["FirstName"] != "Ludwig van Beethoven" || got["LastName"] != "II" {
		t.Errorf("got %q + %q", got["FirstName"], got["LastName"])
	}
}

func TestSplitStreet(t *testing.T) {
	for _, tc := range []struct {
		street, line1, line2 string
	}{
		{"", "", ""},
		{"1 Main St", "1 Main St", ""},
		{"1 Main St\nApt 2", "1 Main St", "Apt 2"},
		{"1 Main St\nApt 2\nBuilding C", "1 Main St", "Apt 2\nBuilding C"},
		{"1 Main St\n", "1 Main St", ""},
		{"1 Main St\nApt 2\n\n", "1 Main St", "Apt 2"},
		{"1 Main St\r\nApt 2", "1 Main St", "Apt 2"},
		{"\nApt 2", "", "Apt 2"},
	} {
		l1, l2 := SplitStreet(tc.street)
		if l1 != tc.line1 || l2 != tc.line2 {
			t.Errorf("SplitStreet(%q) = %q, %q; want %q, %q", tc.street, l1, l2, tc.line1, tc.line2)
		}
	}
}

func TestStreetRoundTrip(t *testing.T) {
	for _, street := range []string{"", "1 Main St", "1 Main St\nApt 2", "1 Main St\nApt 2\nBuilding C", "\nApt 2"} {
		if got := JoinStreet(SplitStreet(street)); got != street {
			t.Errorf("JoinStreet(SplitStreet(%q)) = %q", street, got)
		}
	}
	for _, lines := range [][2]string{{"", ""}, {"1 Main St", ""}, {"1 Main St", "Apt 2"}, {"", "Apt 2"}} {
		l1, l2 := SplitStreet(JoinStreet(lines[0], lines[1]))
		if l1 != lines[0] || l2 != lines[1] {
			t.Errorf("lines %q came back as %q, %q", lines, l1, l2)
		}
	}
}

func TestToContact(t *testing.T) {
	for _, tc := range []struct {
		desc     string
		customer tandem.Customer
		field    string
		want     Contact
	}{
		{
			desc: "every field",
			customer: tandem.Customer{ID: "tdmc_1", Name: "Ada Lovelace", Email: "ada@example.com", Phone: "+44 20 1234",
				Address: tandem.Address{Line1: "12 St James's Sq", Line2: "Flat 3", City: "London", State: "LND",
					PostalCode: "SW1Y 4JH", Country: "GB"}},
			field: DefaultExternalIDField,
			want: Contact{"Tandem_Id__c": "tdmc_1", "FirstName": "Ada", "LastName": "Lovelace",
				"Email": "ada@example.com", "Phone": "+44 20 1234", "MailingStreet": "12 St James's Sq\nFlat 3",
				"MailingCity": "London", "MailingState": "LND", "MailingPostalCode": "SW1Y 4JH", "MailingCountry": "GB"},
		},
		{
			desc:     "empty customer: every field present and empty, LastName required",
			customer: tandem.Customer{ID: "tdmc_2"},
			field:    "Ext__c",
			want: Contact{"Ext__c": "tdmc_2", "FirstName": "", "LastName": NoName, "Email": "", "Phone": "",
				"MailingStreet": "", "MailingCity": "", "MailingState": "", "MailingPostalCode": "", "MailingCountry": ""},
		},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			got := ToContact(&tc.customer, tc.field, nil)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ToContact (-want +got):\n%s", diff)
			}
			back := ToCustomer(got, tc.field)
			if diff := cmp.Diff(tc.customer, back); diff != "" {
				t.Errorf("ToCustomer(ToContact(c)) (-want +got):\n%s", diff)
			}
		})
	}
}

// Every Contact field the table names is written by ToContact, and no other.
func TestMappingsCoverTheirFields(t *testing.T) {
	c := tandem.Customer{ID: "x", Name: "A B"}
	got := ToContact(&c, DefaultExternalIDField, nil)
	var remote []string
	for _, m := range Mappings(DefaultExternalIDField) {
		remote = append(remote, m.Remote...)
	}
	if len(remote) != len(got) {
		t.Errorf("the table names %d fields, ToContact wrote %d: %v", len(remote), len(got), got)
	}
	for _, f := range remote {
		if _, ok := got[f]; !ok {
			t.Errorf("ToContact did not write %s", f)
		}
	}
}
