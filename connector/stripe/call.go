package stripe

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	stripego "github.com/stripe/stripe-go/v86"

	"github.com/tandemsync/tandem"
)

// pageSize is how many objects one list call asks for (Stripe's most).
const pageSize = 100

// call makes one Stripe call, named op for the observer, inside the rate
// budget and classifies its failure.
func (c *Connector) call(ctx context.Context, op string, fn func() error) error {
	if err := c.budget.wait(ctx); err != nil {
		return &tandem.ProviderError{Class: tandem.Retry, Err: fmt.Errorf("stripe: waiting for the rate budget: %w", err)}
	}
	return c.done(op, fn())
}

// list calls fn for every object of a Stripe list until fn returns false;
// each page is one call, named op for the observer, inside the rate budget.
func list[T any](ctx context.Context, c *Connector, op string, objects stripego.Seq2[T, error], fn func(T) bool) error {
	if err := c.budget.wait(ctx); err != nil {
		return err
	}
	n := 0
	for obj, err := range objects {
		if err != nil {
			return c.done(op, err)
		}
		if n%pageSize == 0 {
			c.done(op, nil) // the page holding obj was read
		}
		if !fn(obj) {
			return nil
		}
		if n++; n%pageSize == 0 {
			if err := c.budget.wait(ctx); err != nil {
				return err
			}
		}
	}
	if n == 0 {
		c.done(op, nil) // one empty page
	}
	return nil
}

// done reports the outcome of one call to the observer and returns its
// failure classified (nil for a success).
func (c *Connector) done(op string, err error) error {
	var classified error
	if err != nil {
		classified = c.classify(err)
	}
	if c.observer != nil {
		c.observer.ProviderCall(Name, op, outcome(err, classified))
	}
	return classified
}

// outcome names the outcome of a call from its error as Stripe's client
// returned it and as classified.
func outcome(raw, classified error) string {
	var se *stripego.Error
	switch {
	case raw == nil:
		return tandem.CallOK
	case !errors.As(raw, &se) || se.HTTPStatusCode == 0:
		return tandem.CallNetwork
	case se.HTTPStatusCode == http.StatusNotFound:
		return tandem.CallNotFound
	}
	switch class(classified) {
	case tandem.RetryLater:
		return tandem.CallRateLimited
	case tandem.Ambiguous:
		return tandem.CallAmbiguous
	case tandem.Permanent:
		return tandem.CallPermanent
	}
	return tandem.CallRetry
}
