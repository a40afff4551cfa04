package stripe

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"
)

// Webhook is the endpoint events are delivered to.
type Webhook struct {
	// URL receives every event as a POST; empty means no endpoint.
	URL string
	// Secret (whsec_...) is the key of the Stripe-Signature header.
	Secret string
}

// signature is the Stripe-Signature header for body sent at t:
// t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with the secret>.
func signature(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// delivery is one event on its way to an endpoint.
type delivery struct {
	endpoint Webhook
	eventID  string
	body     []byte
	attempts int       // made so far
	due      time.Time // when to make the next one
}

// deliverer sends deliveries one at a time, in order of due time, from one
// goroutine, so that without faults events arrive in the order they were
// made. A failed attempt is queued again after a doubling backoff until the
// attempts run out.
type deliverer struct {
	client    *http.Client
	attempts  int
	backoff   time.Duration
	delivered func(eventID string) // called after a 2xx, outside d.mu
	log       *slog.Logger

	ctx    context.Context // cancelled by stop
	cancel context.CancelFunc
	done   chan struct{} // closed when run returns
	wake   chan struct{} // 1-buffered: the queue changed

	mu       sync.Mutex
	endpoint Webhook
	queue    []*delivery   // by due time
	held     []*delivery   // held back by the reorder fault
	holds    int           // counts holds, so a stale hold timer releases nothing
	pending  int           // queued, held or being sent
	idle     chan struct{} // closed while pending == 0
}

func newDeliverer(cfg Config, delivered func(string)) *deliverer {
	ctx, cancel := context.WithCancel(context.Background())
	d := &deliverer{
		client: &http.Client{Timeout: cfg.WebhookTimeout}, attempts: cfg.WebhookAttempts, backoff: cfg.WebhookBackoff,
		delivered: delivered, log: cfg.Logger, ctx: ctx, cancel: cancel,
		done: make(chan struct{}), wake: make(chan struct{}, 1), endpoint: cfg.Webhook, idle: make(chan struct{}),
	}
	close(d.idle)
	go d.run()
	return d
}

func (d *deliverer) setEndpoint(w Webhook) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.endpoint = w
}

// target returns the endpoint, if one is set.
func (d *deliverer) target() (Webhook, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.endpoint, d.endpoint.URL != ""
}

// submit queues the delivery of an event to w as p says: a held-back
// delivery goes out right after this one; this one is held back if p.hold
// is set, for at most p.hold.
func (d *deliverer) submit(w Webhook, eventID string, body []byte, p plan) {
	d.mu.Lock()
	defer d.mu.Unlock()
	batch := make([]*delivery, p.copies)
	for i := range batch {
		batch[i] = &delivery{endpoint: w, eventID: eventID, body: body}
	}
	if d.pending == 0 {
		d.idle = make(chan struct{})
	}
	d.pending += len(batch)
	switch {
	case len(d.held) > 0:
		d.push(batch...)
		d.push(d.held...) // due now too, so after the batch
		d.held = nil
		d.holds++
	case p.hold > 0:
		d.held = batch
		d.holds++
		holds := d.holds
		time.AfterFunc(p.hold, func() { d.release(holds) })
	default:
		d.push(batch...)
	}
}

// release queues the held deliveries if they are still those of hold number holds.
func (d *deliverer) release(holds int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.holds == holds {
		d.push(d.held...)
		d.held = nil
	}
}

// push queues deliveries due now, or at their due time if it is later,
// after those due at the same time.
func (d *deliverer) push(ds ...*delivery) {
	now := time.Now()
	for _, x := range ds {
		if x.due.Before(now) {
			x.due = now
		}
		i := sort.Search(len(d.queue), func(i int) bool { return d.queue[i].due.After(x.due) })
		d.queue = slices.Insert(d.queue, i, x)
	}
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *deliverer) run() {
	defer close(d.done)
	for {
		x, wait := d.next()
		if x != nil {
			d.finish(x, d.send(x))
			continue
		}
		var due <-chan time.Time
		if wait > 0 {
			due = time.After(wait)
		}
		select {
		case <-d.wake:
		case <-due:
		case <-d.ctx.Done():
			return
		}
	}
}

// next takes the first delivery if it is due, or says how long until it is
// (zero: the queue is empty).
func (d *deliverer) next() (*delivery, time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.queue) == 0 {
		return nil, 0
	}
	if wait := time.Until(d.queue[0].due); wait > 0 {
		return nil, wait
	}
	x := d.queue[0]
	d.queue = d.queue[1:]
	return x, 0
}

func (d *deliverer) send(x *delivery) error {
	req, err := http.NewRequestWithContext(d.ctx, http.MethodPost, x.endpoint.URL, bytes.NewReader(x.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
	req.Header.Set("Stripe-Signature", signature(x.endpoint.Secret, time.Now(), x.body))
	resp, err := d.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("endpoint answered %s", resp.Status)
	}
	return nil
}

func (d *deliverer) finish(x *delivery, err error) {
	if err == nil {
		d.delivered(x.eventID)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	x.attempts++
	if err != nil {
		retry := x.attempts < d.attempts && d.ctx.Err() == nil
		d.log.Info("stripe emulator: webhook delivery failed", "event", x.eventID, "url", x.endpoint.URL,
			"attempt", x.attempts, "retry", retry, "err", err)
		if retry {
			x.due = time.Now().Add(d.backoff << (x.attempts - 1))
			d.push(x)
			return
		}
	}
	d.pending--
	if d.pending == 0 {
		close(d.idle)
	}
}

// wait blocks until no delivery is pending, or ctx is done.
func (d *deliverer) wait(ctx context.Context) error {
	d.mu.Lock()
	idle := d.idle
	d.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stop ends the deliveries; those pending are abandoned.
func (d *deliverer) stop() {
	d.cancel()
	<-d.done
}
