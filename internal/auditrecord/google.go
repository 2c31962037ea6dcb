package auditrecord

import (
	"github.com/otelsec/emailcompromise/internal/asciifold"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// parseGoogle reads a Google Workspace Admin SDK Reports API activity
// (admin#reports#activity). The API returns "events" as an array; collectors
// that split it write one object under "events" or "event": all three read
// the same.
func parseGoogle(body pcommon.Map, r *Record) error {
	r.Source = SourceGoogleWorkspace
	r.CloudProvider = "gcp"
	var timeText, application string
	var sawEvents bool
	body.Range(func(k string, v pcommon.Value) bool {
		switch {
		case asciifold.Equal(k, "id"):
			if v.Type() == pcommon.ValueTypeMap {
				id := v.Map()
				timeText = strField(id, "time")
				r.ID = strField(id, "uniqueQualifier")
				application = strField(id, "applicationName")
				r.TenantID = strField(id, "customerId")
			}
		case asciifold.Equal(k, "actor"):
			if v.Type() == pcommon.ValueTypeMap {
				r.Actor = NormalizeAddress(strField(v.Map(), "email"))
			}
		case asciifold.Equal(k, "ownerDomain"):
			r.TenantDomain = asciifold.ToLower(str(v))
		case asciifold.Equal(k, "ipAddress"):
			r.ClientAddress, r.ClientIP = CleanIP(str(v))
		case asciifold.Equal(k, "events"), asciifold.Equal(k, "event"):
			sawEvents = true
			r.Events = appendGoogleEvents(r.Events, v)
		}
		return true
	})
	t, ok := ParseTime(timeText)
	if !ok {
		if timeText == "" {
			return fieldError(SourceGoogleWorkspace, "id.time", "is missing")
		}
		return fieldError(SourceGoogleWorkspace, "id.time", "is not a timestamp: "+quoteShort(timeText))
	}
	r.Time = t
	if !sawEvents || len(r.Events) == 0 {
		return fieldError(SourceGoogleWorkspace, "events", "is missing or empty")
	}
	first := r.Events[0]
	r.Operation = first.Name
	r.Target = r.Actor
	switch {
	case asciifold.Equal(application, "login"):
		r.Kind = KindSignIn
		readGoogleLogin(r)
	case asciifold.Equal(application, "user_accounts"), asciifold.Equal(application, "admin"),
		asciifold.Equal(application, "gmail"):
		r.Kind = KindMailboxChange
		if u, ok := first.Param("USER_EMAIL"); ok && u != "" {
			r.Target = NormalizeAddress(u)
		}
	}
	if changeKindOf(r) != 0 {
		r.Kind = KindAccountChange
	}
	r.User = r.Target
	return nil
}

// Param returns the named event parameter's value as text.
func (e Event) Param(name string) (string, bool) {
	return lookup(e.Parameters, name)
}

// readGoogleLogin derives the sign-in view from the login application's events.
func readGoogleLogin(r *Record) {
	r.SignIn.Interactive = true
	for _, e := range r.Events {
		switch e.Name {
		case "login_success":
			r.Result = ResultSuccess
		case "login_failure":
			r.Result = ResultFailure
			if reason, ok := e.Param("login_failure_type"); ok {
				r.ErrorCode = reason
			}
		}
		if v, ok := e.Param("is_suspicious"); ok && asciifold.Equal(v, "true") {
			r.SignIn.Suspicious = true
		}
		if v, ok := e.Param("login_type"); ok && r.SignIn.ClientApp == "" {
			r.SignIn.ClientApp = v
		}
		// Account warnings name the affected user, who is not the caller.
		if v, ok := e.Param("affected_email_address"); ok && v != "" {
			r.Target = NormalizeAddress(v)
		}
	}
}

// appendGoogleEvents appends the events of v to dst. An event appended
// within dst's capacity reuses the Parameters array of the event that was
// there in an earlier record (Reset keeps the Events array), so a reused
// Record parses Google activities without allocating; like every slice of
// a Record, an Event is valid until the next parse into the same Record.
func appendGoogleEvents(dst []Event, v pcommon.Value) []Event {
	add := func(m pcommon.Map) {
		var reuse []Parameter
		if len(dst) < cap(dst) {
			reuse = dst[:len(dst)+1][len(dst)].Parameters
		}
		dst = append(dst, googleEvent(m, reuse[:0]))
	}
	switch v.Type() {
	case pcommon.ValueTypeMap:
		add(v.Map())
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		for i := 0; i < s.Len(); i++ {
			if s.At(i).Type() == pcommon.ValueTypeMap {
				add(s.At(i).Map())
			}
		}
	}
	return dst
}

// googleEvent reads one event, appending its parameters to params; a
// parameter's value is whichever of value, intValue (a string in the API),
// boolValue, multiValue or multiIntValue it carries, as text.
func googleEvent(m pcommon.Map, params []Parameter) Event {
	var e Event
	m.Range(func(k string, v pcommon.Value) bool {
		switch {
		case asciifold.Equal(k, "type"):
			e.Type = str(v)
		case asciifold.Equal(k, "name"):
			e.Name = str(v)
		case asciifold.Equal(k, "parameters"):
			if v.Type() != pcommon.ValueTypeSlice {
				return true
			}
			s := v.Slice()
			for i := 0; i < s.Len(); i++ {
				if s.At(i).Type() == pcommon.ValueTypeMap {
					params = append(params, googleParameter(s.At(i).Map()))
				}
			}
			e.Parameters = params
		}
		return true
	})
	return e
}

func googleParameter(m pcommon.Map) Parameter {
	var p Parameter
	m.Range(func(k string, v pcommon.Value) bool {
		if asciifold.Equal(k, "name") {
			p.Name = str(v)
		} else if asciifold.HasSuffix(k, "value") {
			p.Value = valueText(v)
		}
		return true
	})
	return p
}
