package vendorapi // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/vendorapi"

import "time"

// timeWindow is one listing request's range, start inclusive, end
// exclusive, in whole seconds (the coarsest the three APIs all accept).
type timeWindow struct {
	start, end time.Time
}

// windowPlan says what one poll of a stream lists.
type windowPlan struct {
	windows []timeWindow
	// lost is the range the API can no longer list because the receiver
	// was stopped longer than the API keeps it (O365: 7 days); zero when
	// nothing was lost.
	lost timeWindow
}

// planWindows covers [cursor - overlap, now) with windows of at most
// maxWindow, never starting before origin (where the first poll started).
// When the API lists only the last lifetime (0: no limit), the start is
// moved inside it with margin to spare, since the limit moves while the poll
// runs; what the cursor had not reached by then is reported lost.
func planWindows(cursor, origin, now time.Time, overlap, maxWindow, lifetime, margin time.Duration) windowPlan {
	var plan windowPlan
	now = now.UTC().Truncate(time.Second)
	from := cursor.UTC().Add(-overlap)
	if from.Before(origin) {
		from = origin.UTC()
	}
	if lifetime > 0 {
		earliest := now.Add(-lifetime + margin)
		if cursor.Before(earliest) {
			plan.lost = timeWindow{cursor.UTC(), earliest}
		}
		if from.Before(earliest) {
			from = earliest
		}
	}
	from = from.Truncate(time.Second)
	for start := from; start.Before(now); {
		end := start.Add(maxWindow)
		if end.After(now) {
			end = now
		}
		plan.windows = append(plan.windows, timeWindow{start, end})
		start = end
	}
	return plan
}
