package salesforce

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/tandemsync/tandem"
)

var _ tandem.Lister = (*Connector)(nil)

// listPageSize is the most records one List call reads: Salesforce's
// largest query batch, so that each page costs one API request.
const listPageSize = 2000

// idPattern matches a Salesforce id, 15 or 18 characters.
var idPattern = regexp.MustCompile(`^[0-9A-Za-z]{15}([0-9A-Za-z]{3})?$`)

// queryPage is one page of a SOQL query's answer.
type queryPage struct {
	Records        []map[string]any `json:"records"`
	Done           bool             `json:"done"`
	NextRecordsURL string           `json:"nextRecordsUrl"`
}

// List implements tandem.Lister: one page of the live records (SOQL does
// not return deleted ones), in Id order, each as a change as of its
// SystemModstamp. The cursor is the last Id read: every page is its own
// query, WHERE Id > cursor ORDER BY Id LIMIT listPageSize, one API request,
// so a walk does not depend on a query locator (which expires after 15
// minutes unused, and of which a user holds only ten) and goes on from
// where it was whatever was created or deleted meanwhile. When Salesforce
// answers fewer records than the limit in a first batch (it may, for wide
// records), the page is that batch and the next one starts after it.
func (c *Connector) List(ctx context.Context, kind tandem.Kind, cursor string) ([]*tandem.RemoteChange, string, error) {
	if kind != tandem.KindCustomer {
		return nil, "", &tandem.ProviderError{Class: tandem.Permanent, Err: fmt.Errorf("salesforce: %s records are not synced", kind)}
	}
	where := ""
	if cursor != "" {
		if !idPattern.MatchString(cursor) {
			return nil, "", &tandem.ProviderError{Class: tandem.Permanent, Err: fmt.Errorf("salesforce: bad list cursor %q", cursor)}
		}
		where = " WHERE Id > '" + cursor + "'"
	}
	cr, err := c.session.get(ctx)
	if err != nil {
		return nil, "", err
	}
	q := fmt.Sprintf("SELECT %s FROM %s%s ORDER BY Id ASC LIMIT %d",
		strings.Join(c.readFields(), ", "), c.cfg.Object, where, listPageSize)
	var answer queryPage
	if _, err := c.do(ctx, "list", http.MethodGet, c.dataPath("/query?q="+url.QueryEscape(q)), nil, &answer); err != nil {
		return nil, "", err
	}
	page := make([]*tandem.RemoteChange, 0, len(answer.Records))
	for _, row := range answer.Records {
		rec, err := c.recordOf(row, cr.user)
		if err != nil {
			return nil, "", &tandem.ProviderError{Class: tandem.Retry, Err: err}
		}
		ch, err := c.change(rec)
		if err != nil {
			return nil, "", err
		}
		page = append(page, ch)
	}
	next := ""
	if len(page) > 0 && (!answer.Done || len(page) == listPageSize) {
		next = page[len(page)-1].RemoteID
	}
	return page, next, nil
}
