package detection

import (
	"github.com/otelsec/emailcompromise/internal/asciifold"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/state"
)

// Facts about mailbox item records that the mailbox detectors share.

// sendOperation reports whether r is one sent message (O365 mailbox audit
// Send, SendAs, SendOnBehalf: one record per message).
func sendOperation(r *auditrecord.Record) bool {
	if r.Kind != auditrecord.KindMailItem || r.Source != auditrecord.SourceO365 || r.Result == auditrecord.ResultFailure {
		return false
	}
	return strings.EqualFold(r.Operation, "Send") || strings.EqualFold(r.Operation, "SendAs") ||
		strings.EqualFold(r.Operation, "SendOnBehalf")
}

// deleteOperation reports whether r deletes or bins messages.
func deleteOperation(r *auditrecord.Record) bool {
	if r.Kind != auditrecord.KindMailItem || r.Source != auditrecord.SourceO365 || r.Result == auditrecord.ResultFailure {
		return false
	}
	return strings.EqualFold(r.Operation, "SoftDelete") || strings.EqualFold(r.Operation, "HardDelete") ||
		strings.EqualFold(r.Operation, "MoveToDeletedItems")
}

// replyPrefixes are the reply and forward markers of common mail clients
// and languages (RE, FW, FWD; German AW/WG; Nordic SV/VS; French TR/RE;
// Spanish RV/RE; Italian R/I; Dutch Antw/Doorst; Polish Odp/PD; Turkish YNT/ILT).
var replyPrefixes = []string{"re", "fw", "fwd", "aw", "wg", "sv", "vs", "tr", "rv", "r", "i", "antw", "doorst", "odp", "pd", "ynt", "ilt", "enc", "res", "rif"}

// maxMarker is where a reply marker's colon can come at the latest:
// "doorst", or "AW[12]" with a count.
const maxMarker = 7

// stripReplyPrefixes removes leading "RE:", "FW:", "AW: [EXT] RE:"... and
// reports whether there were any.
func stripReplyPrefixes(subject string) (rest string, reply bool) {
	s := strings.TrimSpace(subject)
	for {
		trimmed := strings.TrimLeft(s, " \t")
		if strings.HasPrefix(trimmed, "[") { // [EXT], [External]: gateway tags
			if end := strings.IndexByte(trimmed, ']'); end > 0 && end < 24 {
				s = trimmed[end+1:]
				continue
			}
		}
		// A marker's colon comes within its first maxMarker bytes; only
		// they are searched, not the whole subject of a message that is
		// no reply (most are).
		colon := strings.IndexAny(trimmed[:min(len(trimmed), maxMarker+len("："))], ":：")
		if colon <= 0 || colon > maxMarker {
			return strings.TrimSpace(trimmed), reply
		}
		prefix := strings.TrimRightFunc(trimmed[:colon], func(r rune) bool { return unicode.IsDigit(r) || r == '[' || r == ']' || r == ' ' })
		if !isReplyPrefix(prefix) {
			return strings.TrimSpace(trimmed), reply
		}
		reply = true
		_, size := utf8.DecodeRuneInString(trimmed[colon:])
		s = trimmed[colon+size:]
	}
}

func isReplyPrefix(p string) bool {
	for _, x := range replyPrefixes {
		if strings.EqualFold(p, x) {
			return true
		}
	}
	return false
}

// conversationKey hashes a subject without its reply markers, case and
// spacing folded, so "RE: Invoice  4432" and "invoice 4432" meet. It is
// FNV-1a computed in place (no allocation on the send path), and FNV
// because the hashes are snapshotted and must survive restarts.
func conversationKey(subject string) uint64 {
	rest, _ := stripReplyPrefixes(subject)
	h := uint64(fnvOffset64)
	space := false
	for i := 0; i < len(rest); {
		// ASCII, most subjects, without the Unicode tables.
		if c := rest[i]; c < utf8.RuneSelf {
			i++
			if c == ' ' || ('\t' <= c && c <= '\r') {
				space = true
				continue
			}
			if space && h != fnvOffset64 {
				h = fnvAdd(h, ' ')
			}
			space = false
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			h = fnvAdd(h, c)
			continue
		}
		r, size := utf8.DecodeRuneInString(rest[i:])
		i += size
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if space && h != fnvOffset64 {
			h = fnvAdd(h, ' ')
		}
		space = false
		h = fnvAddRune(h, unicode.ToLower(r))
	}
	return h
}

// conversation32 is the conversation key as state keeps it: 4 bytes, where
// a collision among one mailbox's 64 recent conversations is negligible.
func conversation32(subject string) uint32 {
	k := conversationKey(subject)
	return uint32(k ^ k>>32)
}

// messageHash hashes an InternetMessageId, case and spacing folded, for
// snapshotted state: 4 bytes, where a collision among one mailbox's recent
// messages is negligible.
func messageHash(s string) uint32 {
	h := uint64(fnvOffset64)
	for _, r := range strings.TrimSpace(s) {
		h = fnvAddRune(h, unicode.ToLower(r))
	}
	return uint32(h ^ h>>32)
}

const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

func fnvAdd(h uint64, b byte) uint64 { return (h ^ uint64(b)) * fnvPrime64 }

func fnvAddRune(h uint64, r rune) uint64 {
	if r < utf8.RuneSelf {
		return fnvAdd(h, byte(r))
	}
	var buf [utf8.UTFMax]byte
	for _, b := range buf[:utf8.EncodeRune(buf[:], r)] {
		h = fnvAdd(h, b)
	}
	return h
}

// paymentThemes are words of the invoice and payment fraud that thread
// hijacking serves (English, German, French, Spanish, Italian, Dutch).
var paymentThemes = []string{"invoice", "payment", "wire", "bank", "remittance", "iban", "swift", "overdue", "account details",
	"rechnung", "zahlung", "facture", "paiement", "factura", "pago", "fattura", "pagamento", "betaling", "factuur"}

// paymentTheme returns the first payment word in subject, or "".
func paymentTheme(subject string) string {
	s := strings.ToLower(subject)
	for _, w := range paymentThemes {
		if strings.Contains(s, w) {
			return w
		}
	}
	return ""
}

// sentItemsFolder reports whether a folder path is Sent Items or the
// Recoverable Items folders deleted mail passes through.
func sentItemsFolder(path string) bool {
	return asciifold.ContainsLower(path, "sent items") || asciifold.Contains(path, "recoverable items") ||
		asciifold.ContainsLower(path, "purges") || asciifold.Contains(path, "deletions")
}

// learnSend adds a sent message to the mailbox's send history, which the
// send baseline and send-then-delete read. Sends of hours that can take no
// more records (older than the allowed lateness, and the delete window
// beyond it) are folded into per-hour counts.
func learnSend(ev *Event, opts SuiteOptions) {
	r := ev.Record
	if !sendOperation(r) {
		return
	}
	mail := ev.User.MailOf()
	s := state.Send{At: state.At(r.Time), ID: ev.RecordID()}
	if len(r.Mail.Items) > 0 {
		it := &r.Mail.Items[0]
		s.Subject = conversation32(it.Subject)
		if it.InternetMessageID != "" {
			s.Message = messageHash(it.InternetMessageID)
		}
	}
	if !mail.AddSend(s) {
		return
	}
	if at := state.SecOf(r.Time); mail.FirstSend == 0 || at < mail.FirstSend {
		mail.FirstSend = at
	}
	foldSends(mail, ev.User.Newest-state.Instant(opts.Lateness+opts.KeepSends))
}

// foldSends moves the sends of the hours that ended before cutoff into the
// per-hour counts.
func foldSends(mail *state.MailHistory, cutoff state.Instant) {
	n := 0
	for n < len(mail.Sends) && hourOf(mail.Sends[n].At)+1 <= hourOf(cutoff) {
		mail.HoursOf().Add(hourOf(mail.Sends[n].At), 1)
		n++
	}
	if n > 0 {
		mail.Sends = append(mail.Sends[:0], mail.Sends[n:]...)
	}
}

// hourOf numbers the clock hour of t (hours since the Unix epoch).
func hourOf(t state.Instant) uint32 { return uint32(int64(t) / int64(time.Hour)) }

// sendsInHour counts the mailbox's sends in hour h, wherever they are kept
// (0 for an hour older than the counts reach).
func sendsInHour(mail *state.MailHistory, h uint32) int {
	if len(mail.Sends) > 0 && hourOf(mail.Sends[0].At) <= h {
		n := 0
		for i := range mail.Sends {
			if hourOf(mail.Sends[i].At) == h {
				n++
			}
		}
		return n
	}
	if mail.Hours == nil {
		return 0
	}
	n, _ := mail.Hours.Count(h)
	return n
}
