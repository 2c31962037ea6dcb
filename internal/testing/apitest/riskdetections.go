package apitest // import "github.com/otelsec/emailcompromise/internal/testing/apitest"

import (
	"encoding/json"
	"net/http"
	"slices"
	"time"
)

// RiskDetection is an Entra ID Protection risk detection as Graph's
// riskDetection resource documents it. Identity Protection updates a
// detection after it is listed (an admin dismisses it or confirms the
// compromise, the user resets the password): the id stays, riskState,
// riskDetail and lastUpdatedDateTime change (UpdateRiskDetection).
type RiskDetection struct {
	ID string
	// EventType is riskEventType, e.g. unfamiliarFeatures,
	// anonymizedIPAddress, leakedCredentials.
	EventType string
	// Level is riskLevel: low, medium, high (hidden without P2).
	Level string
	// State is riskState: atRisk, dismissed, remediated, confirmedSafe,
	// confirmedCompromised.
	State string
	// Detail is riskDetail, e.g. none, adminDismissedAllRiskForUser.
	Detail string
	// User is userPrincipalName.
	User      string
	IPAddress string
	// Activity is when the risky activity happened, Detected when
	// Identity Protection found it (later for offline detections),
	// LastUpdated when the detection last changed.
	Activity, Detected, LastUpdated time.Time
}

// JSON renders the detection with every property the v1.0 resource has, in
// its documented order.
func (d *RiskDetection) JSON() string {
	timing := "realtime"
	if d.Detected.Sub(d.Activity) > time.Hour {
		timing = "offline"
	}
	detail := d.Detail
	if detail == "" {
		detail = "none"
	}
	data, _ := json.Marshal(struct {
		ID                  string         `json:"id"`
		RequestID           string         `json:"requestId"`
		CorrelationID       string         `json:"correlationId"`
		RiskEventType       string         `json:"riskEventType"`
		RiskState           string         `json:"riskState"`
		RiskLevel           string         `json:"riskLevel"`
		RiskDetail          string         `json:"riskDetail"`
		Source              string         `json:"source"`
		DetectionTimingType string         `json:"detectionTimingType"`
		Activity            string         `json:"activity"`
		TokenIssuerType     string         `json:"tokenIssuerType"`
		IPAddress           string         `json:"ipAddress"`
		Location            map[string]any `json:"location"`
		ActivityDateTime    string         `json:"activityDateTime"`
		DetectedDateTime    string         `json:"detectedDateTime"`
		LastUpdatedDateTime string         `json:"lastUpdatedDateTime"`
		UserID              string         `json:"userId"`
		UserDisplayName     string         `json:"userDisplayName"`
		UserPrincipalName   string         `json:"userPrincipalName"`
		AdditionalInfo      string         `json:"additionalInfo"`
	}{
		ID: d.ID, RequestID: "9c1e4b2a-0000-4000-8000-" + fakeSuffix(d.ID), CorrelationID: "c0ffee00-0000-4000-8000-" + fakeSuffix(d.ID),
		RiskEventType: d.EventType, RiskState: d.State, RiskLevel: d.Level, RiskDetail: detail,
		Source: "IdentityProtection", DetectionTimingType: timing, Activity: "signin", TokenIssuerType: "AzureAD",
		IPAddress: d.IPAddress,
		Location: map[string]any{"city": "Bucharest", "state": "Bucuresti", "countryOrRegion": "RO",
			"geoCoordinates": map[string]any{"altitude": nil, "latitude": 44.4268, "longitude": 26.1025}},
		ActivityDateTime:    d.Activity.UTC().Format(time.RFC3339Nano),
		DetectedDateTime:    d.Detected.UTC().Format(time.RFC3339Nano),
		LastUpdatedDateTime: d.LastUpdated.UTC().Format(time.RFC3339Nano),
		UserID:              "d1f0c2a4-1b3e-4c5d-8e9f-0a1b2c3d4e5f", UserDisplayName: d.User, UserPrincipalName: d.User,
		AdditionalInfo: `[{"Key":"userAgent","Value":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"}]`,
	})
	return string(data)
}

// fakeSuffix makes the 12 hex digits that end a GUID from an id.
func fakeSuffix(id string) string {
	const hex = "0123456789abcdef"
	out := []byte("000000000000")
	for i := 0; i < len(id); i++ {
		out[i%12] = hex[(int(out[i%12])+int(id[i]))%16]
	}
	return string(out)
}

// AddRiskDetection makes a risk detection listable. Its LastUpdated
// defaults to Detected.
func (f *Graph) AddRiskDetection(d RiskDetection) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if d.LastUpdated.IsZero() {
		d.LastUpdated = d.Detected
	}
	f.risks = append(f.risks, &d)
}

// UpdateRiskDetection changes a detection's riskState and riskDetail at
// time at, as Identity Protection does when an admin or the user acts on
// it; its id and detectedDateTime stay.
func (f *Graph) UpdateRiskDetection(id, state, detail string, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, d := range f.risks {
		if d.ID == id {
			d.State, d.Detail, d.LastUpdated = state, detail, at
		}
	}
}

// listRiskDetections lists /identityProtection/riskDetections: $filter on
// activityDateTime, detectedDateTime and lastUpdatedDateTime, $top up to
// 500 (20 without it), newest detection first.
func (f *Graph) listRiskDetections(w http.ResponseWriter, r *http.Request, version string) {
	dateProperties := []string{"activityDateTime", "detectedDateTime", "lastUpdatedDateTime"}
	filter, err := parseGraphFilter(r.URL.Query().Get("$filter"), version, graphRiskDetectionType, dateProperties)
	if err != nil {
		graphError(w, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	f.mu.Lock()
	var matched []graphItem
	for _, d := range f.risks {
		item := graphItem{record: d.JSON(), order: d.Detected, times: map[string]time.Time{
			"activityDateTime": d.Activity, "detectedDateTime": d.Detected, "lastUpdatedDateTime": d.LastUpdated}}
		if filter.matches(item.times) {
			matched = append(matched, item)
		}
	}
	f.noteRetention(filter, "detectedDateTime", riskDetectionRetention)
	f.mu.Unlock()
	f.page(w, r, version, "identityProtection/riskDetections", slices.Clip(matched), 20, 500)
}
