package guardrails

import (
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// span is one match in a text, as byte offsets, and the label its
// redaction shows: [REDACTED:<label>].
type span struct {
	start, end int
	label      string
}

// The PII types of the pii kind, as its config's types names them.
const (
	PIIEmail  = "email"
	PIIPhone  = "phone"
	PIICard   = "card"
	PIIIBAN   = "iban"
	PIIAPIKey = "api_key"
)

// piiTypes lists every PII type in the order the detectors run: tokens
// first, as a key may hold digit runs a card or phone check would claim.
var piiTypes = []string{PIIAPIKey, PIIEmail, PIIIBAN, PIICard, PIIPhone}

// The patterns are anchored: each is tried only where a cheap test of the
// bytes says a match may start (see scan), which keeps a check of a chat
// message well under a millisecond.
var (
	emailRE = regexp.MustCompile(`^(?i)[a-z0-9._%+\-]+@[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?)*\.[a-z]{2,24}`)
	// A card number: 13 to 19 digits, grouped by single spaces or dashes;
	// the schemes' numbers start with 2 to 6.
	cardRE = regexp.MustCompile(`^[2-6](?:[ \-]?\d){12,18}`)
	// An IBAN: country, check digits, then up to 30 letters or digits,
	// printed in groups of four or not at all.
	ibanRE = regexp.MustCompile(`^[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}`)
	// International numbers start with + and a country code; national ones
	// are written (415) 555-2671, 415-555-2671 or 415.555.2671. A bare run
	// of digits is never taken for a phone number.
	intlPhoneRE     = regexp.MustCompile(`^\+\d{1,3}(?:[ .\-]?\(?\d{1,5}\)?){1,6}`)
	nationalPhoneRE = regexp.MustCompile(`^(?:\(\d{3}\) ?|\d{3}[ .\-])\d{3}[ .\-]\d{4}`)
	// API-key-like tokens of common providers and CredVault's own keys.
	apiKeyRE = regexp.MustCompile(`^(?:sk-[A-Za-z0-9_\-]{20,}|cvk_[A-Za-z0-9_]{16,}|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,}|AKIA[0-9A-Z]{16}|xox[abprs]-[A-Za-z0-9\-]{10,}|AIza[0-9A-Za-z_\-]{35})`)
)

// labels are the redaction labels of the PII types.
var labels = map[string]string{
	PIIEmail: "EMAIL", PIIPhone: "PHONE", PIICard: "CARD", PIIIBAN: "IBAN", PIIAPIKey: "API_KEY",
}

// findPII returns the matches of the given PII types in text, without
// overlaps, in order.
func findPII(text string, types []string) []span {
	var out []span
	for _, t := range piiTypes {
		if !slices.Contains(types, t) {
			continue
		}
		for _, s := range detectors[t](text) {
			if !overlaps(out, s) {
				out = append(out, s)
			}
		}
	}
	slices.SortFunc(out, func(a, b span) int { return a.start - b.start })
	return out
}

var detectors = map[string]func(string) []span{
	PIIAPIKey: func(text string) []span {
		may := func(i int) bool {
			return strings.IndexByte("scgAx", text[i]) >= 0 && (i == 0 || !isWordByte(text[i-1]))
		}
		return scan(text, apiKeyRE, PIIAPIKey, may, 512, isWordByte, nil)
	},
	PIIEmail: func(text string) []span {
		var out []span
		for at := 0; ; {
			i := strings.IndexByte(text[at:], '@')
			if i < 0 {
				return out
			}
			at += i
			// The local part is the run of its characters before the @.
			start := at
			for start > 0 && isLocalByte(text[start-1]) {
				start--
			}
			if start < at && (start == 0 || !isWordByte(text[start-1])) {
				if loc := emailRE.FindStringIndex(text[start:min(len(text), at+256)]); loc != nil {
					end := start + loc[1]
					if end == len(text) || !isWordByte(text[end]) && text[end] != '@' {
						out = append(out, span{start, end, labels[PIIEmail]})
						at = end
						continue
					}
				}
			}
			at++
		}
	},
	PIIIBAN: func(text string) []span {
		may := func(i int) bool {
			return i+4 <= len(text) && isUpper(text[i]) && isUpper(text[i+1]) && isDigit(text[i+2]) && isDigit(text[i+3]) &&
				(i == 0 || !isWordByte(text[i-1]))
		}
		return scan(text, ibanRE, PIIIBAN, may, 72, isWordByte, validIBAN)
	},
	PIICard: func(text string) []span {
		may := func(i int) bool { return text[i] >= '2' && text[i] <= '6' && (i == 0 || !isDigit(text[i-1])) }
		return scan(text, cardRE, PIICard, may, 40, isDigit, validCard)
	},
	PIIPhone: func(text string) []span {
		free := func(i int) bool { return i == 0 || strings.IndexByte("0123456789+-./", text[i-1]) < 0 }
		intl := func(i int) bool { return text[i] == '+' && free(i) }
		national := func(i int) bool { return (text[i] == '(' || isDigit(text[i])) && free(i) }
		out := scan(text, intlPhoneRE, PIIPhone, intl, 64, isDigit, func(m string) bool { n := digits(m); return n >= 8 && n <= 15 })
		for _, s := range scan(text, nationalPhoneRE, PIIPhone, national, 16, isDigit, nil) {
			if !overlaps(out, s) {
				out = append(out, s)
			}
		}
		return out
	},
}

// scan returns the matches of the anchored pattern re in text that start
// where may says one can (a cheap test of the bytes, which also checks
// that nothing before joins the match), are at most maxLen bytes, have no
// byte after that after says joins them, and that valid, if given,
// accepts. A rejected match is cut back a group at a time, so
// "4111 1111 1111 1111 2" still finds the card; failing that, the next
// possible start is tried, so a phone number's last group does not hide
// the card number that follows it.
func scan(text string, re *regexp.Regexp, typ string, may func(int) bool, maxLen int, after func(byte) bool, valid func(string) bool) []span {
	var out []span
	for i := 0; i < len(text); i++ {
		if !may(i) {
			continue
		}
		loc := re.FindStringIndex(text[i:min(len(text), i+maxLen)])
		if loc == nil {
			continue
		}
		if end := accept(text, i, i+loc[1], after, valid); end > i {
			out = append(out, span{i, end, labels[typ]})
			i = end - 1
		}
	}
	return out
}

// accept returns the end of the longest prefix of text[start:end], cut
// back a group at a time, that after does not join and valid accepts; or
// start, for none.
func accept(text string, start, end int, after func(byte) bool, valid func(string) bool) int {
	for end > start {
		m := text[start:end]
		if (end == len(text) || !after(text[end])) && (valid == nil || valid(m)) {
			return end
		}
		if valid == nil {
			return start
		}
		end = start + strings.LastIndexAny(m[:len(m)-1], " -.")
	}
	return start
}

func overlaps(list []span, s span) bool {
	for _, o := range list {
		if s.start < o.end && o.start < s.end {
			return true
		}
	}
	return false
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

func isUpper(b byte) bool { return b >= 'A' && b <= 'Z' }

// isLocalByte reports whether b may be part of an e-mail address's local part.
func isLocalByte(b byte) bool {
	return isDigit(b) || b >= 'a' && b <= 'z' || isUpper(b) || strings.IndexByte("._%+-", b) >= 0
}

func isWordByte(b byte) bool {
	return isDigit(b) || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b == '_' || b >= utf8.RuneSelf
}

func digits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			n++
		}
	}
	return n
}

// validCard reports whether s is 13 to 19 digits of a card scheme (the
// first digit 2 to 6) passing the Luhn check, grouped by one kind of
// separator.
func validCard(s string) bool {
	if strings.Contains(s, " ") && strings.Contains(s, "-") {
		return false
	}
	var buf [19]byte
	n := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			if n == len(buf) {
				return false
			}
			buf[n] = s[i]
			n++
		}
	}
	if n < 13 || buf[0] < '2' || buf[0] > '6' {
		return false
	}
	return luhn(string(buf[:n]))
}

// luhn is the Luhn check of a string of digits.
func luhn(d string) bool {
	sum := 0
	double := false
	for i := len(d) - 1; i >= 0; i-- {
		n := int(d[i] - '0')
		if double {
			if n *= 2; n > 9 {
				n -= 9
			}
		}
		sum += n
		double = !double
	}
	return sum%10 == 0
}

// ibanLengths are the IBAN lengths of the countries that issue them
// (ISO 13616 registry).
var ibanLengths = map[string]int{
	"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
	"BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
	"ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
	"HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
	"LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
	"MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29,
	"RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28,
	"TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}

// validIBAN reports whether s, spaces aside, has its country's length and
// passes the ISO 7064 mod-97 check.
func validIBAN(s string) bool {
	d := strings.ReplaceAll(s, " ", "")
	if n, ok := ibanLengths[d[:2]]; !ok || len(d) != n {
		return false
	}
	rem := 0
	for _, c := range d[4:] + d[:4] {
		switch {
		case c >= '0' && c <= '9':
			rem = (rem*10 + int(c-'0')) % 97
		case c >= 'A' && c <= 'Z':
			rem = (rem*100 + int(c-'A'+10)) % 97
		default:
			return false
		}
	}
	return rem == 1
}

// termSet is blocked terms compiled: one anchored, case-insensitive
// pattern, tried where a word starts with a byte some term starts with.
type termSet struct {
	re    *regexp.Regexp
	first [256]bool
}

// maxTermSpan bounds a match of a term: 200 characters, and the spaces
// between a phrase's words.
const maxTermSpan = 4 * 1024

// compileTerms compiles blocked terms; any run of spaces between a
// phrase's words matches.
func compileTerms(list []string) (*termSet, error) {
	t := &termSet{}
	alts := make([]string, len(list))
	for i, term := range list {
		words := strings.Fields(term)
		for j, w := range words {
			words[j] = regexp.QuoteMeta(w)
		}
		alts[i] = strings.Join(words, `\s+`)
		b := term[0]
		if b >= utf8.RuneSelf {
			// Other cases of a non-ASCII letter start with other bytes.
			for c := range t.first {
				t.first[c] = t.first[c] || c >= utf8.RuneSelf
			}
		}
		t.first[b] = true
		t.first[unicode.ToLower(rune(b))&0xff] = true
		t.first[unicode.ToUpper(rune(b))&0xff] = true
	}
	re, err := regexp.Compile(`^(?i)(?:` + strings.Join(alts, "|") + `)`)
	t.re = re
	return t, err
}

// findTerms returns the blocked terms' matches in text that no letter,
// digit or underscore joins on either side.
func findTerms(t *termSet, text string) []span {
	var out []span
	for i := 0; i < len(text); i++ {
		if !t.first[text[i]] || !utf8.RuneStart(text[i]) {
			continue
		}
		if r, _ := utf8.DecodeLastRuneInString(text[:i]); i > 0 && isWordRune(r) {
			continue
		}
		loc := t.re.FindStringIndex(text[i:min(len(text), i+maxTermSpan)])
		if loc == nil {
			continue
		}
		end := i + loc[1]
		if next, _ := utf8.DecodeRuneInString(text[end:]); end < len(text) && isWordRune(next) {
			continue
		}
		out = append(out, span{i, end, "BLOCKED_TERM"})
		i = end - 1
	}
	return out
}

func isWordRune(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// findRegex returns the matches of the patterns in text, without overlaps.
func findRegex(res []*regexp.Regexp, text string) []span {
	var out []span
	for _, re := range res {
		for _, loc := range re.FindAllStringIndex(text, -1) {
			s := span{loc[0], loc[1], "REGEX"}
			if s.end > s.start && !overlaps(out, s) {
				out = append(out, s)
			}
		}
	}
	slices.SortFunc(out, func(a, b span) int { return a.start - b.start })
	return out
}

// redact replaces the spans, in order and without overlaps, of text.
func redact(text string, spans []span) string {
	var b strings.Builder
	last := 0
	for _, s := range spans {
		b.WriteString(text[last:s.start])
		b.WriteString("[REDACTED:" + s.label + "]")
		last = s.end
	}
	b.WriteString(text[last:])
	return b.String()
}

// charsPerToken is the approximation max_tokens counts with: about four
// characters of English text per token, as OpenAI's tokenizers average.
const charsPerToken = 4

// approxTokens estimates the tokens of the texts together: their
// characters divided by charsPerToken, rounded up.
func approxTokens(texts []string) int {
	n := 0
	for _, t := range texts {
		n += utf8.RuneCountInString(t)
	}
	return (n + charsPerToken - 1) / charsPerToken
}
