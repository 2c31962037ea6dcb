package vendorapi

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestGraphFilter(t *testing.T) {
	w := timeWindow{time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC), time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	signIns := &graphStream{dateProperty: "createdDateTime"}
	assert.Equal(t, "createdDateTime ge 2026-11-25T09:00:00Z and createdDateTime lt 2026-11-25T10:00:00Z", signIns.filter(w))
	signIns.eventTypes = []string{"nonInteractiveUser", "servicePrincipal"}
	assert.Equal(t, "createdDateTime ge 2026-11-25T09:00:00Z and createdDateTime lt 2026-11-25T10:00:00Z and signInEventTypes/any(t: t eq 'nonInteractiveUser' or t eq 'servicePrincipal')",
		signIns.filter(w))
	assert.Equal(t, "detectedDateTime ge 2026-11-25T09:00:00Z and detectedDateTime lt 2026-11-25T10:00:00Z",
		(&graphStream{dateProperty: "detectedDateTime"}).filter(w), "risk detections are listed by when they were detected")
}
