package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"

	"github.com/credvault/credvault/internal/platform/apperr"
)

// decodeBody reads the JSON object of r into dst, turning each way a body can
// be wrong into the code SPEC §5 gives it: 415 not JSON, 413 too large, 400
// malformed, 422 an unknown field or a value of the wrong type, named.
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
	return nil
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
