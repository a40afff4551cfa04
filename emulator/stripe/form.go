package stripe

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// form is a request's parameters in Stripe's bracket notation:
// name=Ada, metadata[plan]=pro, address[line1]=..., types[0]=... (or types[]=).
// Every accessor marks the keys it reads, so whatever is left over is a
// parameter the endpoint does not know.
type form struct {
	values url.Values
	read   map[string]bool
}

func newForm(v url.Values) *form {
	return &form{values: v, read: map[string]bool{}}
}

// string returns the value of name and whether it was sent.
func (f *form) string(name string) (string, bool) {
	vs, ok := f.values[name]
	if !ok {
		return "", false
	}
	f.read[name] = true
	return vs[0], true
}

// entries returns the values sent as name[key], by key.
func (f *form) entries(name string) map[string]string {
	prefix := name + "["
	out := map[string]string{}
	for k, vs := range f.values {
		if strings.HasPrefix(k, prefix) && strings.HasSuffix(k, "]") {
			f.read[k] = true
			out[k[len(prefix):len(k)-1]] = vs[0]
		}
	}
	return out
}

// hash returns the entries of the hash name, and whether name= (empty) was
// sent, which in Stripe's API clears the whole hash.
func (f *form) hash(name string) (entries map[string]string, cleared bool, err error) {
	if v, ok := f.string(name); ok {
		if v != "" {
			return nil, false, invalidParam(name, "", "Invalid hash")
		}
		cleared = true
	}
	return f.entries(name), cleared, nil
}

// list returns the array name, sent as name[0]=a&name[1]=b (stripe-go) or
// name[]=a&name[]=b, in order.
func (f *form) list(name string) ([]string, error) {
	type item struct {
		index int
		value string
	}
	var items []item
	for k, v := range f.entries(name) {
		if k == "" {
			for _, v := range f.values[name+"[]"] {
				items = append(items, item{len(items), v})
			}
			continue
		}
		i, err := strconv.Atoi(k)
		if err != nil || i < 0 {
			return nil, invalidParam(name, "", "Invalid array")
		}
		items = append(items, item{i, v})
	}
	slices.SortStableFunc(items, func(a, b item) int { return a.index - b.index })
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.value
	}
	return out, nil
}

// int returns the integer name, or def when it was not sent.
func (f *form) int(name string, def int64) (int64, error) {
	v, ok := f.string(name)
	if !ok {
		return def, nil
	}
	return parseInt(name, v)
}

func parseInt(param, v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, invalidParam(param, "parameter_invalid_integer", "Invalid integer: %s", v)
	}
	return n, nil
}

// unknown returns Stripe's error for the first parameter nobody read, if any.
func (f *form) unknown() error {
	var left []string
	for k := range f.values {
		if !f.read[k] {
			left = append(left, k)
		}
	}
	if len(left) == 0 {
		return nil
	}
	slices.Sort(left)
	return unknownParam(left[0])
}

// optionalInt returns the integer name, or nil when it was not sent.
func (f *form) optionalInt(name string) (*int64, error) {
	v, ok := f.string(name)
	if !ok {
		return nil, nil
	}
	n, err := parseInt(name, v)
	return &n, err
}

// optionalBool returns the boolean name, or nil when it was not sent.
func (f *form) optionalBool(name string) (*bool, error) {
	v, ok := f.string(name)
	if !ok {
		return nil, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil || (v != "true" && v != "false") {
		return nil, invalidParam(name, "", "Invalid boolean: %s", v)
	}
	return &b, nil
}
