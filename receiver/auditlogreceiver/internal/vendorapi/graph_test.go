package vendorapi

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestGraphFilter(t *testing.T) {
	w := timeWindow{time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC), time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	assert.Equal(t, "createdDateTime ge 2026-11-25T09:00:00Z and createdDateTime lt 2026-11-25T10:00:00Z", (&graphStream{}).filter(w))
	assert.Equal(t, "createdDateTime ge 2026-11-25T09:00:00Z and createdDateTime lt 2026-11-25T10:00:00Z and signInEventTypes/any(t: t eq 'nonInteractiveUser' or t eq 'servicePrincipal')",
		(&graphStream{eventTypes: []string{"nonInteractiveUser", "servicePrincipal"}}).filter(w))
}
