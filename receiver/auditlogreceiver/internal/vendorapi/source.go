package vendorapi // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/vendorapi"

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/logrecord"
)

const (
	// lifetimeMargin keeps a window's start this far inside an API's
	// listing limit: the limit moves on while a poll runs, and clocks
	// differ.
	lifetimeMargin = 10 * time.Minute
	// firstPollMargin keeps a first poll's start clear of the limit by
	// more: a first poll over weeks of backlog runs for a while.
	firstPollMargin = time.Hour
)

// apiRetention is how far back an API lists records, and where the vendor
// says so, for the warnings that name the limit.
type apiRetention struct {
	lifetime time.Duration
	says     string
}

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

// reportedError is a lasting state of a stream (a subscription missing or
// disabled) that the stream logged when it began: each poll it fails is
// counted, and logged at debug only.
type reportedError struct{ err error }

func (e *reportedError) Error() string { return e.err.Error() }
func (e *reportedError) Unwrap() error { return e.err }

// Source polls the streams of one vendor API in turn, delivers what is new
// and keeps each stream's checkpoint.
type Source struct {
	name string
	// configKey is where the source's keys are in the configuration.
	configKey string
	poll      PollSettings
	// api is the client all the streams share.
	api *apiClient
	// retention is how far back the API lists records (0: no limit).
	retention apiRetention
	streams   []apiStream
	states    map[string]*streamState
	// resumed are the streams polled since the start.
	resumed map[string]bool
	// credentials is whether the source's credentials are refused, and
	// since when; only Run's goroutine touches it.
	credentials credentialsState
	checkpoints apiCheckpoints
	// identity names a parsed record and says by which time the API lists
	// it; records that did not parse are named by their bytes.
	identity recordIdentity
	builder  logrecord.Builder
	// scopeName and scopeVersion name the instrumentation scope of the
	// records.
	scopeName, scopeVersion string
	logger                  *zap.Logger
	metrics                 Metrics
	now                     func() time.Time
}

// newSource is what every vendor's constructor ends with: the streams share
// api, their checkpoints are kept under prefix, and their states are loaded
// now, so that a corrupt checkpoint fails the start.
func newSource(ctx context.Context, name string, poll PollSettings, env Env, api *apiClient, streams []apiStream, prefix string, identity recordIdentity, retention apiRetention) (*Source, error) {
	s := &Source{
		name:        name,
		configKey:   env.configKey(name),
		retention:   retention,
		poll:        poll,
		api:         api,
		streams:     streams,
		states:      make(map[string]*streamState, len(streams)),
		resumed:     make(map[string]bool, len(streams)),
		checkpoints: apiCheckpoints{client: env.Storage, prefix: env.checkpointPrefix(prefix)},
		identity:    identity,
		// A record cannot be larger than the response that holds it.
		builder:      logrecord.NewBuilder(maxResponseBytes),
		scopeName:    env.ScopeName,
		scopeVersion: env.ScopeVersion,
		logger:       env.Logger.With(zap.String("source", name)),
		metrics:      env.Metrics,
		now:          time.Now,
	}
	for _, st := range streams {
		state, err := s.checkpoints.load(ctx, st.name(), poll.MaxSeenIDs)
		if err != nil {
			return nil, err
		}
		s.states[st.name()] = state
	}
	return s, nil
}

// newClient makes the client that signs and retries the requests of source
// name, on env's HTTP client (token requests go through it too).
func newClient(name string, poll PollSettings, env Env, baseURL, authHint string, fetch tokenFetch) (*apiClient, error) {
	return newAPIClient(env.configKey(name), env.HTTP, newTokenCache(fetch), baseURL, poll.Retry, authHint,
		env.Logger.With(zap.String("source", name)), env.Metrics)
}

// newMicrosoftClient makes the client of a Microsoft API: api picks the API's
// host in auth's cloud, which is both where requests go, unless baseURL
// replaces it, and the audience of the tokens, whatever baseURL says. It
// returns the client and the base URL in effect.
func newMicrosoftClient(name string, auth MicrosoftAuth, api func(cloudHosts) string, baseURL string, poll PollSettings, env Env, authHint string) (*apiClient, string, error) {
	hosts, err := microsoftHosts(env.configKey(name), auth)
	if err != nil {
		return nil, "", err
	}
	if baseURL == "" {
		baseURL = api(hosts)
	}
	fetch, err := newMicrosoftTokenFetch(&auth, env.configKey(name), api(hosts), env.HTTP)
	if err != nil {
		return nil, "", err
	}
	client, err := newClient(name, poll, env, baseURL, authHint, fetch)
	return client, baseURL, err
}

// Name is the source's name: SourceO365, SourceGraph, SourceGraphRisk or
// SourceGoogle.
func (s *Source) Name() string { return s.name }

// Run polls the streams until ctx ends. It hands each batch to deliver and
// advances a stream's checkpoint only after deliver returned nil.
func (s *Source) Run(ctx context.Context, deliver Deliver) {
	// A receiver stopped for a config reload should not keep connections.
	defer s.api.http.CloseIdleConnections()
	for {
		var authErr *authError
		for _, stream := range s.streams {
			err := s.pollStream(ctx, stream, deliver)
			if ctx.Err() != nil {
				return
			}
			// The streams share the credentials and the server: when
			// either is refused, the others would be refused too.
			var untrusted *untrustedServerError
			if errors.As(err, &authErr) || errors.As(err, &untrusted) {
				break
			}
		}
		wait := s.poll.PollInterval
		// Read and cleared every poll, so that it tells about this one.
		tokenAccepted := s.api.tokenAccepted.Swap(false)
		switch {
		case authErr != nil:
			wait = s.credentialsRefused(ctx, authErr)
		case tokenAccepted:
			s.credentialsAccepted(ctx)
		}
		if sleep(ctx, wait) != nil {
			return
		}
	}
}

// pollStream lists what is new in one stream and delivers it. The cursor
// advances window by window, only past windows whose records were all
// accepted; on any failure the poll of the stream ends there.
func (s *Source) pollStream(ctx context.Context, stream apiStream, deliver Deliver) error {
	state := s.states[stream.name()]
	now := s.now()
	if state.Cursor.IsZero() {
		// The first poll's start is pinned, so that a first poll cut short
		// resumes from the same start rather than from a later lookback,
		// and nothing older than it is ever read.
		state.Origin = s.firstPollStart(stream, now)
		state.Cursor = state.Origin
		s.save(ctx, stream, state)
	} else if !s.poll.StartTime.IsZero() && !s.resumed[stream.name()] {
		s.logger.Info(s.configKey+".start_time applies to a stream's first poll only; this one resumes from its checkpoint",
			zap.String("stream", stream.name()), zap.Time("checkpoint", state.Cursor))
	}
	s.resumed[stream.name()] = true
	plan := planWindows(state.Cursor, state.Origin, now, s.poll.Overlap, s.poll.MaxWindow, s.retention.lifetime, lifetimeMargin)
	if !plan.lost.start.IsZero() {
		s.logger.Warn("the receiver was stopped longer than the API keeps records; what became available in this range cannot be read any more",
			zap.String("stream", stream.name()), zap.Time("from", plan.lost.start), zap.Time("to", plan.lost.end))
	}
	sink := &pageSink{source: s, stream: stream, state: state, deliver: deliver}
	evicted := state.Records.evicted
	defer func() {
		s.recordLag(ctx, stream, state)
		if forgotten := state.Records.evicted - evicted; forgotten > 0 {
			s.metrics.SeenIDsEvicted(ctx, int64(forgotten))
			s.logger.Warn("more records within the overlap than max_seen_ids; the oldest ids were forgotten and their records may be delivered twice; raise max_seen_ids or lower overlap",
				zap.String("stream", stream.name()), zap.Int("max_seen_ids", s.poll.MaxSeenIDs), zap.Int("forgotten", forgotten))
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
			state.advance(w.end, s.poll.Overlap)
			s.save(ctx, stream, state)
		}
	}
	return nil
}

// firstPollStart is where a stream's first poll starts: start_time, or now
// - initial_lookback, and never further back than the API keeps records
// (with firstPollMargin to spare), with a warning naming the key, the time
// asked for and the limit when it was clamped.
func (s *Source) firstPollStart(stream apiStream, now time.Time) time.Time {
	key, start := "initial_lookback", now.Add(-s.poll.InitialLookback)
	if !s.poll.StartTime.IsZero() {
		key, start = "start_time", s.poll.StartTime
	}
	if s.retention.lifetime > 0 {
		if earliest := now.Add(-s.retention.lifetime + firstPollMargin); start.Before(earliest) {
			s.logger.Warn(s.configKey+"."+key+" reaches further back than the API keeps records; the first poll starts at the earliest time it can list",
				zap.String("stream", stream.name()), zap.Time("requested", start.UTC()), zap.Time("start", earliest.UTC()), zap.String("limit", s.retention.says))
			start = earliest
		}
	}
	return start.UTC().Truncate(time.Second)
}

func (s *Source) pollFailed(ctx context.Context, stream apiStream, w timeWindow, err error) {
	s.metrics.ReadError(ctx)
	fields := []zap.Field{zap.String("stream", stream.name()), zap.Time("window_start", w.start), zap.Time("window_end", w.end), zap.Error(err)}
	var authErr *authError
	if errors.As(err, &authErr) {
		// Run logs the refusal once, when it begins.
		s.logger.Debug("API poll ended: credentials refused", fields...)
		return
	}
	var reported *reportedError
	if errors.As(err, &reported) {
		s.logger.Debug("API poll of a stream failed, as reported when it began", fields...)
		return
	}
	var untrusted *untrustedServerError
	if errors.As(err, &untrusted) {
		s.logger.Error("API server's certificate is not trusted; nothing is read until it is, tried again every poll", fields...)
		return
	}
	s.logger.Warn("API poll failed; the checkpoint did not move and the next poll starts from it again", fields...)
}

// recordLag reports how far behind now the newest delivered event is.
func (s *Source) recordLag(ctx context.Context, stream apiStream, state *streamState) {
	if state.NewestEvent.IsZero() {
		return
	}
	lag := max(s.now().Sub(state.NewestEvent), 0)
	s.metrics.Lag(ctx, stream.name(), lag.Seconds())
}

func (s *Source) save(ctx context.Context, stream apiStream, state *streamState) {
	// The checkpoint of an accepted batch must be written even when ctx has
	// just ended, or its records would be delivered twice.
	if err := s.checkpoints.save(context.WithoutCancel(ctx), stream.name(), state); err != nil {
		s.logger.Warn("cannot save the checkpoint; after a restart, records since the last saved one are delivered again",
			zap.String("stream", stream.name()), zap.Error(err))
	}
}
