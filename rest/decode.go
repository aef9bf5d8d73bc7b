package rest

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/inputs"
)

// decodeBody reads the JSON object of r into dst, turning each way a body can
// be wrong into the code SPEC §5 gives it: 415 not JSON, 413 too large, 400
// malformed, 422 an unknown field, a value of the wrong type, or a value the
// inputs rules refuse (a NUL character, a time past year 9999), named.
func decodeBody(r *http.Request, dst any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return apperr.New(apperr.PayloadTooLarge, "request body is larger than 1 MiB")
		}
		return apperr.New(apperr.InvalidRequest, "request body could not be read")
	}
	if bytes.Equal(bytes.TrimSpace(body), []byte("null")) {
		return apperr.New(apperr.InvalidRequest, "request body must be a JSON object")
	}
	if len(bytes.TrimSpace(body)) == 0 && r.Header.Get("Content-Type") == "" {
		// A POST with no body at all, such as a rotation with only defaults.
		body = []byte("{}")
	} else if !isJSON(r.Header.Get("Content-Type")) {
		return apperr.New(apperr.UnsupportedMediaType, "request body must be application/json")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		if field := failingField(body, dst); field != "" {
			return apperr.Invalid(field, "invalid")
		}
		return decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return apperr.New(apperr.InvalidRequest, "request body must hold a single JSON object")
	}
	return checkValues(reflect.ValueOf(dst), "")
}

// checkValues applies the inputs rules to every string and time decoded
// into v (map keys included), naming the offending field by its JSON path,
// such as rate_limit.window_seconds or metadata.note.
func checkValues(v reflect.Value, path string) error {
	if v.Type() == reflect.TypeFor[time.Time]() {
		return inputs.Time(path, v.Interface().(time.Time))
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return checkValues(v.Elem(), path)
	case reflect.String:
		return inputs.String(path, v.String())
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			sub := path
			if !f.Anonymous || name != "" {
				sub = join(path, cmp.Or(name, f.Name))
			}
			if err := checkValues(v.Field(i), sub); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if err := checkValues(v.Index(i), path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			sub := join(path, fmt.Sprint(it.Key().Interface()))
			if err := checkValues(it.Key(), sub); err != nil {
				return err
			}
			if err := checkValues(it.Value(), sub); err != nil {
				return err
			}
		}
	}
	return nil
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// failingField finds the top-level field whose value does not decode into
// its Go type, for errors (such as a bad time) that encoding/json does not
// attribute to a field.
func failingField(body []byte, dst any) string {
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return ""
	}
	t := reflect.TypeOf(dst).Elem()
	if t.Kind() != reflect.Struct {
		return ""
	}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		raw, ok := fields[name]
		if !ok || name == "" {
			continue
		}
		var typeErr *json.UnmarshalTypeError
		err := json.Unmarshal(raw, reflect.New(f.Type).Interface())
		if err != nil && !errors.As(err, &typeErr) {
			return name
		}
	}
	return ""
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

func decodeError(err error) error {
	var (
		typeErr   *json.UnmarshalTypeError
		syntaxErr *json.SyntaxError
	)
	switch {
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return apperr.New(apperr.InvalidRequest, "request body must be a JSON object")
	case errors.As(err, &typeErr):
		return apperr.Invalid(typeErr.Field, "must be "+jsonKind(typeErr.Type.Kind().String()))
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return apperr.New(apperr.InvalidRequest, "request body is not valid JSON")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return apperr.Invalid(field, "unknown")
	}
	var ae *apperr.Error
	if errors.As(err, &ae) {
		return ae
	}
	return apperr.New(apperr.InvalidRequest, "request body could not be decoded")
}

// jsonKind names a Go kind as the JSON type a client should send.
func jsonKind(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	}
	return "of another type"
}
