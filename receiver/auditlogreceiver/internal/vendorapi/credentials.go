package vendorapi // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/vendorapi"

import (
	"context"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// authRetryMax caps the pause between polls while a source's credentials
// are refused. Refused credentials are fixed by a person (a new secret, a
// consent granted, an app enabled again): asking every poll_interval would
// only fill the token endpoint's and the tenant's sign-in logs with
// refusals, while a fix made without a config reload is still noticed
// within minutes.
const authRetryMax = 5 * time.Minute

// credentialsState follows whether a source's credentials are refused, so
// that the change is logged once each way and exposed as a metric, and the
// pause before the next poll grows with each refusal.
type credentialsState struct {
	// known is false until a poll has shown the credentials refused or
	// accepted: the metric is recorded once before any change.
	known bool
	// failingSince is when the refusal began; zero while they are accepted.
	failingSince time.Time
	// code is the vendor's code of the last refusal.
	code string
	// wait is the pause before the next poll while they are refused.
	wait time.Duration
}

// credentialsRefused records a poll ended by refused credentials and
// returns the pause before the next: poll_interval after the first refusal,
// doubling with each further one up to authRetryMax (or poll_interval, when
// that is longer). One error line when the refusal begins or the vendor's
// reason changes; the same refusal again is logged at debug only.
func (s *Source) credentialsRefused(ctx context.Context, err *authError) time.Duration {
	c := &s.credentials
	code := err.vendorCode()
	// The collector adds a stack trace to error lines; the receiver's own
	// stack says nothing about why the vendor refused.
	logger := s.logger.WithOptions(zap.AddStacktrace(zapcore.FatalLevel))
	switch {
	case c.failingSince.IsZero():
		c.failingSince, c.wait = s.now(), s.poll.PollInterval
		s.metrics.AuthFailing(ctx, true)
		logger.Error("API credentials refused; nothing is read until they work. Asked again after a pause that doubles from poll_interval up to "+authRetryMax.String()+"; logged again only when they work or the vendor's reason changes",
			zap.String("vendor_code", code), zap.Error(err))
	default:
		c.wait = min(2*c.wait, max(authRetryMax, s.poll.PollInterval))
		if code != c.code {
			logger.Error("API credentials still refused, for another reason", zap.String("vendor_code", code),
				zap.String("previous_vendor_code", c.code), zap.Duration("refused_for", s.now().Sub(c.failingSince).Round(time.Second)), zap.Error(err))
		} else {
			logger.Debug("API credentials still refused", zap.String("vendor_code", code), zap.Duration("next_attempt_in", c.wait))
		}
	}
	c.known, c.code = true, code
	return c.wait
}

// credentialsAccepted records a poll whose requests the API answered with
// the source's token: one info line when that ends a refusal.
func (s *Source) credentialsAccepted(ctx context.Context) {
	c := &s.credentials
	if c.known && c.failingSince.IsZero() {
		return
	}
	if !c.failingSince.IsZero() {
		s.logger.Info("API credentials accepted again; reading resumes from the checkpoints",
			zap.String("refused_with", c.code), zap.Duration("refused_for", s.now().Sub(c.failingSince).Round(time.Second)))
	}
	s.metrics.AuthFailing(ctx, false)
	*c = credentialsState{known: true}
}
