package auditlogreceiver // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver"

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/logrecord"
	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/metadata"
)

// lifetimeMargin keeps a window's start this far inside an API's listing
// limit: the limit moves on while a poll runs, and clocks differ.
const lifetimeMargin = 10 * time.Minute

// apiStream is one feed of an API source (an O365 content type, the Graph
// sign-in log, a Google application), read window by window, with its own
// checkpoint.
type apiStream interface {
	// name identifies the stream in its checkpoint key, logs and metrics.
	name() string
	// list reads window w and hands its records to sink, page by page. It
	// returns nil once every page was read and accepted downstream, an
	// *incompleteWindowError when some content could not be fetched this
	// time but the rest was delivered, and any other error when the
	// window could not be read to its end.
	list(ctx context.Context, w timeWindow, sink *pageSink) error
}

// incompleteWindowError keeps the cursor before a window some of whose
// content could not be fetched yet; later windows are still read, and the
// next poll fetches what is missing.
type incompleteWindowError struct{ missing int }

func (e *incompleteWindowError) Error() string {
	return fmt.Sprintf("%d content blobs of the window could not be fetched yet", e.missing)
}

// apiSource polls the streams of one vendor API in turn, delivers what is
// new and keeps each stream's checkpoint.
type apiSource struct {
	name string
	cfg  APIPollConfig
	// api is the client all the streams share.
	api *apiClient
	// lifetime is how far back the API lists records (0: no limit).
	lifetime    time.Duration
	streams     []apiStream
	states      map[string]*streamState
	checkpoints apiCheckpoints
	// dedupKey names a parsed record; records that did not parse are named
	// by their bytes.
	dedupKey     func(*auditrecord.Record) string
	builder      logrecord.Builder
	buildVersion string
	logger       *zap.Logger
	telemetry    *metadata.TelemetryBuilder
	attrs        metric.MeasurementOption
	now          func() time.Time
}

func newAPISource(ctx context.Context, name string, cfg APIPollConfig, api *apiClient, streams []apiStream, checkpoints apiCheckpoints, dedupKey func(*auditrecord.Record) string, r *auditLogReceiver) (*apiSource, error) {
	s := &apiSource{
		name:        name,
		cfg:         cfg,
		api:         api,
		streams:     streams,
		states:      make(map[string]*streamState, len(streams)),
		checkpoints: checkpoints,
		dedupKey:    dedupKey,
		// A record cannot be larger than the response that holds it.
		builder:      logrecord.NewBuilder(maxResponseBytes),
		buildVersion: r.settings.BuildInfo.Version,
		logger:       r.settings.Logger.With(zap.String("source", name)),
		telemetry:    r.telemetry,
		attrs:        sourceAttrs(name),
		now:          time.Now,
	}
	for _, st := range streams {
		state, err := checkpoints.load(ctx, st.name(), cfg.MaxSeenIDs)
		if err != nil {
			return nil, err
		}
		s.states[st.name()] = state
	}
	return s, nil
}

// newAPIClient makes the HTTP client of one source from its http settings
// (token requests go through it too) and the client that signs and retries
// the source's requests.
func (r *auditLogReceiver) newAPIClient(ctx context.Context, host component.Host, name string, cfg *APIPollConfig, baseURL, authHint string,
	newFetch func(*http.Client) (tokenFetch, error),
) (*apiClient, error) {
	hc, err := cfg.HTTP.ToClient(ctx, host.GetExtensions(), r.settings.TelemetrySettings)
	if err != nil {
		return nil, fmt.Errorf("%s.http: %w", name, err)
	}
	fetch, err := newFetch(hc)
	if err != nil {
		return nil, err
	}
	return newAPIClient(hc, newTokenCache(fetch), baseURL, cfg.Retry, authHint,
		r.settings.Logger.With(zap.String("source", name)), r.telemetry, sourceAttrs(name))
}

// apiSources sets up the configured API sources; an error (an unreadable
// key file, bad TLS settings, a corrupt checkpoint) fails the start.
func (r *auditLogReceiver) apiSources(ctx context.Context, host component.Host, client storage.Client) ([]*apiSource, error) {
	var sources []*apiSource
	add := func(src *apiSource, err error) error {
		if err == nil {
			sources = append(sources, src)
		}
		return err
	}
	if c := r.cfg.O365.Get(); c != nil {
		if err := add(r.newO365Source(ctx, c, host, client)); err != nil {
			return nil, err
		}
	}
	if c := r.cfg.Graph.Get(); c != nil {
		if err := add(r.newGraphSource(ctx, c, host, client)); err != nil {
			return nil, err
		}
	}
	if c := r.cfg.Google.Get(); c != nil {
		if err := add(r.newGoogleSource(ctx, c, host, client)); err != nil {
			return nil, err
		}
	}
	return sources, nil
}

func (s *apiSource) Run(ctx context.Context, deliver deliverFunc) {
	// A receiver stopped for a config reload should not keep connections.
	defer s.api.http.CloseIdleConnections()
	for {
		for _, stream := range s.streams {
			err := s.pollStream(ctx, stream, deliver)
			if ctx.Err() != nil {
				return
			}
			// The streams share the credentials: when they are refused,
			// the others would be refused too.
			var authErr *authError
			if errors.As(err, &authErr) {
				break
			}
		}
		if sleep(ctx, s.cfg.PollInterval) != nil {
			return
		}
	}
}

// pollStream lists what is new in one stream and delivers it. The cursor
// advances window by window, only past windows whose records were all
// accepted; on any failure the poll of the stream ends there.
func (s *apiSource) pollStream(ctx context.Context, stream apiStream, deliver deliverFunc) error {
	state := s.states[stream.name()]
	now := s.now()
	if state.Cursor.IsZero() {
		// The first poll's start is pinned, so that a first poll cut short
		// resumes from the same start rather than from a later lookback,
		// and nothing older than initial_lookback is ever read.
		state.Origin = now.UTC().Add(-s.cfg.InitialLookback).Truncate(time.Second)
		state.Cursor = state.Origin
		s.save(ctx, stream, state)
	}
	plan := planWindows(state.Cursor, state.Origin, now, s.cfg.Overlap, s.cfg.MaxWindow, s.lifetime, lifetimeMargin)
	if !plan.lost.start.IsZero() {
		s.logger.Warn("the receiver was stopped longer than the API keeps records; what became available in this range cannot be read any more",
			zap.String("stream", stream.name()), zap.Time("from", plan.lost.start), zap.Time("to", plan.lost.end))
	}
	sink := &pageSink{source: s, stream: stream, state: state, deliver: deliver}
	evicted := state.Records.evicted
	defer func() {
		s.recordLag(ctx, stream, state)
		if state.Records.evicted > evicted {
			s.logger.Warn("more records within the overlap than max_seen_ids; the oldest ids were forgotten and their records may be delivered twice; raise max_seen_ids or lower overlap",
				zap.String("stream", stream.name()), zap.Int("max_seen_ids", s.cfg.MaxSeenIDs))
		}
	}()
	complete := true
	for _, w := range plan.windows {
		sink.window = w
		err := stream.list(ctx, w, sink)
		var incomplete *incompleteWindowError
		switch {
		case err == nil:
		case ctx.Err() != nil:
			// Shutting down: every accepted batch is saved already.
			return err
		case errors.As(err, &incomplete):
			complete = false
			s.logger.Warn("some content could not be fetched; the checkpoint stays before this window and the next poll fetches it again",
				zap.String("stream", stream.name()), zap.Time("window_start", w.start), zap.Time("window_end", w.end), zap.Error(err))
		default:
			s.pollFailed(ctx, stream, w, err)
			return err
		}
		if complete {
			state.advance(w.end, s.cfg.Overlap)
			s.save(ctx, stream, state)
		}
	}
	return nil
}

func (s *apiSource) pollFailed(ctx context.Context, stream apiStream, w timeWindow, err error) {
	s.telemetry.AuditLogReadErrors.Add(ctx, 1, s.attrs)
	fields := []zap.Field{zap.String("stream", stream.name()), zap.Time("window_start", w.start), zap.Time("window_end", w.end), zap.Error(err)}
	var authErr *authError
	if errors.As(err, &authErr) {
		s.logger.Error("API credentials refused; nothing is read until they work, tried again every poll", fields...)
		return
	}
	s.logger.Warn("API poll failed; the checkpoint did not move and the next poll starts from it again", fields...)
}

// recordLag reports how far behind now the newest delivered event is.
func (s *apiSource) recordLag(ctx context.Context, stream apiStream, state *streamState) {
	if state.NewestEvent.IsZero() {
		return
	}
	lag := max(s.now().Sub(state.NewestEvent), 0)
	s.telemetry.AuditLogAPILag.Record(ctx, lag.Seconds(), metric.WithAttributeSet(attribute.NewSet(
		attribute.String("source", s.name), attribute.String("stream", stream.name()))))
}

func (s *apiSource) save(ctx context.Context, stream apiStream, state *streamState) {
	// The checkpoint of an accepted batch must be written even when ctx has
	// just ended, or its records would be delivered twice.
	if err := s.checkpoints.save(context.WithoutCancel(ctx), stream.name(), state); err != nil {
		s.logger.Warn("cannot save the checkpoint; after a restart, records since the last saved one are delivered again",
			zap.String("stream", stream.name()), zap.Error(err))
	}
}
