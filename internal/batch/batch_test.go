package batch

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// recorder is a send function keeping the batches it was given; each
// item's result is the item times ten.
type recorder struct {
	mu      sync.Mutex
	batches [][]int
	hold    chan struct{} // when set, send waits for it to close
}

func (r *recorder) send(items []int) []int {
	r.mu.Lock()
	r.batches = append(r.batches, slices.Clone(items))
	r.mu.Unlock()
	if r.hold != nil {
		<-r.hold
	}
	out := make([]int, len(items))
	for i, it := range items {
		out[i] = it * 10
	}
	return out
}

func (r *recorder) sent() [][]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.batches)
}

// doAll calls b.Do for each item in its own goroutine and returns the
// results by item.
func doAll(t *testing.T, b *Batcher[int, int], items ...int) map[int]int {
	t.Helper()
	var (
		mu  sync.Mutex
		out = map[int]int{}
		wg  sync.WaitGroup
	)
	for _, it := range items {
		wg.Go(func() {
			r, err := b.Do(t.Context(), it)
			if err != nil {
				t.Errorf("item %d: %v", it, err)
			}
			mu.Lock()
			out[it] = r
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

func TestFullBatchGoesAtOnce(t *testing.T) {
	rec := &recorder{}
	b := New(3, time.Hour, time.Hour, rec.send) // only a full batch can go
	got := doAll(t, b, 1, 2, 3)
	if batches := rec.sent(); len(batches) != 1 || len(batches[0]) != 3 {
		t.Fatalf("batches %v, want one of 3", batches)
	}
	for it, r := range got {
		if r != it*10 {
			t.Errorf("item %d got %d, want %d", it, r, it*10)
		}
	}
}

func TestLingerSendsPartialBatch(t *testing.T) {
	rec := &recorder{}
	const linger = 20 * time.Millisecond
	b := New(200, linger, linger, rec.send)
	start := time.Now()
	got := doAll(t, b, 7, 8)
	if took := time.Since(start); took < linger {
		t.Errorf("answered after %v, before the linger of %v", took, linger)
	}
	batches := rec.sent()
	if len(batches) != 1 || len(batches[0]) != 2 {
		t.Fatalf("batches %v, want one of 2", batches)
	}
	if got[7] != 70 || got[8] != 80 {
		t.Errorf("results %v", got)
	}
}

// TestIdleSendsLoneItem: an item with no other coming leaves after idle,
// not linger.
func TestIdleSendsLoneItem(t *testing.T) {
	rec := &recorder{}
	b := New(200, 10*time.Millisecond, time.Hour, rec.send)
	done := make(chan int, 1)
	go func() {
		r, _ := b.Do(t.Context(), 5)
		done <- r
	}()
	select {
	case r := <-done:
		if r != 50 {
			t.Errorf("result %d, want 50", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a lone item waited for the linger")
	}
}

// TestLingerCapsTrickle: items that keep coming, each before idle passed,
// still leave linger after their batch's first.
func TestLingerCapsTrickle(t *testing.T) {
	rec := &recorder{}
	b := New(1000, time.Hour, 30*time.Millisecond, rec.send)
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			if _, err := b.Do(t.Context(), i); err != nil {
				t.Error(err)
			}
		})
		time.Sleep(5 * time.Millisecond)
	}
	wg.Wait()
	if batches := rec.sent(); len(batches) < 2 {
		t.Errorf("batches %v: a 200ms trickle left in one batch despite a 30ms linger", batches)
	}
}

func TestCancelledCallerLeavesBatch(t *testing.T) {
	rec := &recorder{}
	b := New(2, time.Hour, time.Hour, rec.send)
	ctx, cancel := context.WithCancel(t.Context())
	gaveUp := make(chan error, 1)
	go func() {
		_, err := b.Do(ctx, 1)
		gaveUp <- err
	}()
	// Wait until item 1 is in the open batch, then give up on it.
	for {
		b.mu.Lock()
		in := b.open != nil && len(b.open.items) == 1
		b.mu.Unlock()
		if in {
			break
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Fatalf("Do = %v, want context.Canceled", err)
	}
	got := doAll(t, b, 2, 3)
	if batches := rec.sent(); len(batches) != 1 || !slices.Equal(batches[0], []int{2, 3}) && !slices.Equal(batches[0], []int{3, 2}) {
		t.Fatalf("batches %v, want one of items 2 and 3", batches)
	}
	if got[2] != 20 || got[3] != 30 {
		t.Errorf("results %v", got)
	}
}

// TestSentItemOutlivesCaller: once its batch is sent, a caller waits for
// its result even when its context ends.
func TestSentItemOutlivesCaller(t *testing.T) {
	rec := &recorder{hold: make(chan struct{})}
	b := New(1, time.Hour, time.Hour, rec.send)
	checkOutlivesCaller(t, b.Do, rec)
}

// checkOutlivesCaller hands item 4 to do, whose sends rec records and
// holds, and checks that once it is sent, do returns its result, and not
// its context's end.
func checkOutlivesCaller(t *testing.T, do func(context.Context, int) (int, error), rec *recorder) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	type answer struct {
		r   int
		err error
	}
	answered := make(chan answer, 1)
	go func() {
		r, err := do(ctx, 4)
		answered <- answer{r, err}
	}()
	for len(rec.sent()) == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case a := <-answered:
		t.Fatalf("Do returned %+v while its batch was in flight", a)
	case <-time.After(20 * time.Millisecond):
	}
	close(rec.hold)
	if a := <-answered; a.err != nil || a.r != 40 {
		t.Fatalf("Do = %+v, want 40", a)
	}
}

func TestConcurrentCallers(t *testing.T) {
	rec := &recorder{}
	const n, max = 1000, 7
	b := New(max, time.Millisecond, time.Millisecond, rec.send)
	items := make([]int, n)
	for i := range items {
		items[i] = i
	}
	got := doAll(t, b, items...)
	seen := 0
	for _, batch := range rec.sent() {
		if len(batch) == 0 || len(batch) > max {
			t.Errorf("a batch of %d items", len(batch))
		}
		seen += len(batch)
	}
	if seen != n || len(got) != n {
		t.Errorf("%d items sent, %d answered; want %d", seen, len(got), n)
	}
	for it, r := range got {
		if r != it*10 {
			t.Errorf("item %d got %d", it, r)
		}
	}
}
