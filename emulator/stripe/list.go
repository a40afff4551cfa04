package stripe

import (
	"math"
	"slices"
)

// collection holds the objects of one resource in creation order.
type collection[T any] struct {
	all  []*T
	byID map[string]int // index in all
}

func newCollection[T any]() collection[T] {
	return collection[T]{byID: map[string]int{}}
}

func (c *collection[T]) add(id string, v *T) {
	c.byID[id] = len(c.all)
	c.all = append(c.all, v)
}

func (c *collection[T]) get(id string) (*T, bool) {
	i, ok := c.byID[id]
	if !ok {
		return nil, false
	}
	return c.all[i], true
}

// cloned returns a copy of the object id, made by clone, and whether it exists.
func (c *collection[T]) cloned(id string, clone func(T) T) (T, bool) {
	v, ok := c.get(id)
	if !ok {
		var zero T
		return zero, false
	}
	return clone(*v), true
}

// clonedAll returns copies of every object, made by clone, oldest first.
func (c *collection[T]) clonedAll(clone func(T) T) []T {
	out := make([]T, len(c.all))
	for i, v := range c.all {
		out[i] = clone(*v)
	}
	return out
}

// listParams are the pagination parameters every list endpoint takes.
type listParams struct {
	limit         int
	startingAfter string
	endingBefore  string
}

// parseListParams reads the pagination parameters and the created filter
// of a list of objects.
func parseListParams(f *form) (listParams, span, error) {
	p, err := parsePageParams(f)
	if err != nil {
		return p, span{}, err
	}
	created, err := parseSpan(f, "created")
	return p, created, err
}

// parsePageParams reads the pagination parameters alone.
func parsePageParams(f *form) (listParams, error) {
	limit, err := f.int("limit", 10)
	if err != nil {
		return listParams{}, err
	}
	if limit < 1 || limit > 100 {
		return listParams{}, invalidParam("limit", "", "Invalid limit: must be between 1 and 100")
	}
	p := listParams{limit: int(limit)}
	p.startingAfter, _ = f.string("starting_after")
	p.endingBefore, _ = f.string("ending_before")
	if p.startingAfter != "" && p.endingBefore != "" {
		return listParams{}, invalidParam("ending_before", "",
			"You may only specify one of these parameters: ending_before, starting_after.")
	}
	return p, nil
}

// listPage is one page of a list answer: {"object": "list", "data": [...], ...}.
type listPage[T any] struct {
	Object  string `json:"object"`
	Data    []T    `json:"data"`
	HasMore bool   `json:"has_more"`
	URL     string `json:"url"`
}

// page returns, newest first, the page of the objects that pass keep which
// p asks for: the newest ones, the ones created before starting_after, or the
// ones created just after ending_before. kind names the resource in the error
// for an unknown cursor.
func (c *collection[T]) page(p listParams, keep func(*T) bool, kind, url string) (listPage[T], error) {
	out := listPage[T]{Object: "list", Data: []T{}, URL: url}
	from, step := len(c.all)-1, -1 // newest first
	if cursor := p.startingAfter + p.endingBefore; cursor != "" {
		i, ok := c.byID[cursor]
		if !ok {
			param := "starting_after"
			if p.endingBefore != "" {
				param = "ending_before"
			}
			return out, resourceMissing(kind, param, cursor)
		}
		from = i - 1
		if p.endingBefore != "" {
			from, step = i+1, 1
		}
	}
	for i := from; i >= 0 && i < len(c.all); i += step {
		if !keep(c.all[i]) {
			continue
		}
		if len(out.Data) == p.limit {
			out.HasMore = true
			break
		}
		out.Data = append(out.Data, *c.all[i])
	}
	if step > 0 { // walked oldest to newest: Stripe still answers newest first
		slices.Reverse(out.Data)
	}
	return out, nil
}

// span is a filter on a timestamp: created=, created[gt]=, created[gte]=,
// created[lt]=, created[lte]=.
type span struct{ min, max int64 }

func parseSpan(f *form, name string) (span, error) {
	s := span{math.MinInt64, math.MaxInt64}
	if v, ok := f.string(name); ok {
		n, err := parseInt(name, v)
		if err != nil {
			return s, err
		}
		s.min, s.max = n, n
	}
	for op, v := range f.entries(name) {
		param := name + "[" + op + "]"
		n, err := parseInt(param, v)
		if err != nil {
			return s, err
		}
		switch op {
		case "gt":
			s.min = max(s.min, n+1)
		case "gte":
			s.min = max(s.min, n)
		case "lt":
			s.max = min(s.max, n-1)
		case "lte":
			s.max = min(s.max, n)
		default:
			return s, unknownParam(param)
		}
	}
	return s, nil
}

func (s span) contains(t int64) bool { return s.min <= t && t <= s.max }
