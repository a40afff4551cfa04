package salesforce

import (
	"cmp"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// soql is a parsed query of the subset the emulator understands:
//
//	SELECT f1, f2 FROM Contact [WHERE <datetime field> <op> <datetime>
//	| WHERE Id <op> '<id>'] [ORDER BY f [ASC|DESC][, ...]] [LIMIT n]
type soql struct {
	fields []field
	where  *condition
	order  []orderBy
	limit  int // 0: none
}

type condition struct {
	field field
	op    string
	value time.Time // for a datetime field
	id    string    // for Id: 15 characters, as Salesforce compares ids
}

type orderBy struct {
	field field
	desc  bool
}

var soqlPattern = regexp.MustCompile(`(?is)^\s*SELECT\s+(.+?)\s+FROM\s+(\w+)` +
	`(?:\s+WHERE\s+(\w+)\s*(>=|<=|>|<|=)\s*(\S+))?` +
	`(?:\s+ORDER\s+BY\s+(.+?))?` +
	`(?:\s+LIMIT\s+(\d+))?\s*$`)

// datetimeLayouts are the forms of a SOQL datetime literal.
var datetimeLayouts = []string{"2006-01-02T15:04:05Z", "2006-01-02T15:04:05.000Z",
	"2006-01-02T15:04:05-07:00", "2006-01-02T15:04:05.000-07:00", "2006-01-02T15:04:05-0700", "2006-01-02T15:04:05.000-0700"}

func malformed(format string, args ...any) *Error {
	return badRequest("MALFORMED_QUERY", format, args...)
}

// parseSOQL parses q, naming the fields as the schema spells them.
func (e *Emulator) parseSOQL(q string) (*soql, *Error) {
	m := soqlPattern.FindStringSubmatch(q)
	if m == nil {
		return nil, malformed("unexpected token or clause outside the emulator's SOQL subset: %s", q)
	}
	if m[2] != e.object {
		return nil, badRequest("INVALID_TYPE", "sObject type '%s' is not supported.", m[2])
	}
	var s soql
	for name := range strings.SplitSeq(m[1], ",") {
		f, err := e.soqlField(strings.TrimSpace(name))
		if err != nil {
			return nil, err
		}
		s.fields = append(s.fields, f)
	}
	if m[3] != "" {
		f, err := e.soqlField(m[3])
		if err != nil {
			return nil, err
		}
		s.where = &condition{field: f, op: m[4]}
		switch f.name {
		case "SystemModstamp", "CreatedDate":
			t, ok := parseDatetime(m[5])
			if !ok {
				return nil, badRequest("INVALID_QUERY_FILTER_OPERATOR", "value of filter criterion for field '%s' must be of type dateTime and should not be enclosed in quotes", f.name)
			}
			s.where.value = t
		case "Id":
			id, ok := quotedID(m[5])
			if !ok {
				return nil, badRequest("INVALID_QUERY_FILTER_OPERATOR", "invalid ID field: %s", m[5])
			}
			s.where.id = id
		default:
			return nil, malformed("the emulator filters on SystemModstamp, CreatedDate or Id only, not %s", f.name)
		}
	}
	if m[6] != "" {
		for item := range strings.SplitSeq(m[6], ",") {
			words := strings.Fields(item)
			if len(words) == 0 || len(words) > 2 || len(words) == 2 && !slices.Contains([]string{"ASC", "DESC"}, strings.ToUpper(words[1])) {
				return nil, malformed("unexpected ORDER BY item: %s", strings.TrimSpace(item))
			}
			f, err := e.soqlField(words[0])
			if err != nil {
				return nil, err
			}
			s.order = append(s.order, orderBy{field: f, desc: len(words) == 2 && strings.EqualFold(words[1], "DESC")})
		}
	}
	if m[7] != "" {
		n, err := strconv.Atoi(m[7])
		if err != nil || n <= 0 {
			return nil, malformed("invalid LIMIT: %s", m[7])
		}
		s.limit = n
	}
	return &s, nil
}

func (e *Emulator) soqlField(name string) (field, *Error) {
	f, ok := e.lookupField(name)
	if !ok {
		return field{}, badRequest("INVALID_FIELD", "No such column '%s' on entity '%s'.", name, e.object)
	}
	return f, nil
}

func parseDatetime(s string) (time.Time, bool) {
	for _, layout := range datetimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// quotedID returns the 15-character id of a quoted 15- or 18-character id
// literal.
func quotedID(s string) (string, bool) {
	if len(s) < 2 || s[0] != '\'' || s[len(s)-1] != '\'' {
		return "", false
	}
	id := s[1 : len(s)-1]
	if len(id) != 15 && len(id) != 18 {
		return "", false
	}
	for _, r := range id {
		if !strings.ContainsRune(base62, r) {
			return "", false
		}
	}
	return id[:15], true
}

// timeOf returns the datetime field f of c.
func timeOf(c *Contact, f field) time.Time {
	if f.name == "CreatedDate" {
		return c.CreatedDate
	}
	return c.SystemModstamp
}

func (cond *condition) match(c *Contact) bool {
	var d int
	if cond.field.name == "Id" {
		d = cmp.Compare(c.ID[:15], cond.id)
	} else {
		d = timeOf(c, cond.field).Compare(cond.value)
	}
	switch cond.op {
	case ">":
		return d > 0
	case ">=":
		return d >= 0
	case "<":
		return d < 0
	case "<=":
		return d <= 0
	}
	return d == 0
}

// compare orders two Contacts by field f.
func compareBy(a, b *Contact, f field) int {
	switch f.name {
	case "SystemModstamp", "CreatedDate":
		return timeOf(a, f).Compare(timeOf(b, f))
	case "IsDeleted":
		return cmp.Compare(strconv.FormatBool(a.IsDeleted), strconv.FormatBool(b.IsDeleted))
	}
	return cmp.Compare(*f.value(a), *f.value(b))
}

// queryResult is one page of a query's answer.
type queryResult struct {
	TotalSize      int      `json:"totalSize"`
	Done           bool     `json:"done"`
	NextRecordsURL string   `json:"nextRecordsUrl,omitempty"`
	Records        []record `json:"records"`
}

// cursor holds the rows of a query, for its later pages.
type cursor struct {
	locator  string
	version  string
	rows     []record
	pageSize int
}

// maxCursors is how many query cursors stay open; opening one more closes
// the oldest, as Salesforce keeps ten per user.
const maxCursors = 10

// query serves GET .../query?q=: the live Contacts that match, as of now.
func (e *Emulator) query(c *call) (int, any, error) {
	q := c.r.URL.Query().Get("q")
	if q == "" {
		return 0, nil, malformed("a query is required (q)")
	}
	s, err := e.parseSOQL(q)
	if err != nil {
		return 0, nil, err
	}
	var matched []*Contact
	for _, ct := range e.contacts {
		if !ct.IsDeleted && (s.where == nil || s.where.match(ct)) {
			matched = append(matched, ct)
		}
	}
	slices.SortStableFunc(matched, func(a, b *Contact) int {
		for _, o := range s.order {
			if d := compareBy(a, b, o.field); d != 0 {
				if o.desc {
					return -d
				}
				return d
			}
		}
		return 0
	})
	if s.limit > 0 && len(matched) > s.limit {
		matched = matched[:s.limit]
	}
	cur := &cursor{version: c.version, pageSize: e.pageSize(c.r)}
	for _, ct := range matched {
		cur.rows = append(cur.rows, e.record(ct, c.version, s.fields))
	}
	if len(cur.rows) > cur.pageSize {
		e.seq++
		cur.locator = newID("01g", e.seq)[:15]
		e.cursors = append(e.cursors, cur)
		if len(e.cursors) > maxCursors {
			e.cursors = e.cursors[1:]
		}
	}
	return http.StatusOK, cur.page(0), nil
}

// pageSize is the batchSize of the Sforce-Query-Options header (200 to
// 2000), or the configured page size.
func (e *Emulator) pageSize(r *http.Request) int {
	for opt := range strings.SplitSeq(r.Header.Get("Sforce-Query-Options"), ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(opt), "batchSize="); ok {
			if n, err := strconv.Atoi(v); err == nil && n >= 200 && n <= 2000 {
				return n
			}
		}
	}
	return e.cfg.QueryPageSize
}

// page answers the rows of cur from offset on.
func (cur *cursor) page(offset int) queryResult {
	end := min(offset+cur.pageSize, len(cur.rows))
	res := queryResult{TotalSize: len(cur.rows), Done: end == len(cur.rows), Records: cur.rows[offset:end]}
	if res.Records == nil {
		res.Records = []record{}
	}
	if !res.Done {
		res.NextRecordsURL = "/services/data/v" + cur.version + "/query/" + cur.locator + "-" + strconv.Itoa(end)
	}
	return res
}

// queryMore serves GET .../query/{locator}-{offset}, the nextRecordsUrl of
// a page; a page may be read again while its cursor is open.
func (e *Emulator) queryMore(c *call) (int, any, error) {
	locator, after, _ := strings.Cut(c.r.PathValue("locator"), "-")
	offset, err := strconv.Atoi(after)
	for _, cur := range e.cursors {
		if cur.locator == locator && err == nil && offset > 0 && offset < len(cur.rows) {
			return http.StatusOK, cur.page(offset), nil
		}
	}
	return 0, nil, badRequest("INVALID_QUERY_LOCATOR", "invalid query locator")
}
