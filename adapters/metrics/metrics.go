// Package metrics exposes parcelbot's Prometheus metrics: turns, journeys
// started and finished per journey and language, escalations, time to
// claim, hand-off duration, compensations, and the latency and errors of
// Redis and of the outside APIs (Telegram, Slack, the shop). Labels are
// names, never ids, text or secrets.
package metrics

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	goredis "github.com/redis/go-redis/v9"

	"github.com/parcelbot/parcelbot/bot"
)

// Metrics holds the collectors; it implements bot.Observer.
type Metrics struct {
	reg          *prometheus.Registry
	turns        *prometheus.CounterVec
	turnSeconds  prometheus.Histogram
	journeys     *prometheus.CounterVec
	escalations  *prometheus.CounterVec
	agentSeconds *prometheus.HistogramVec
	compensation prometheus.Counter
	redisSeconds *prometheus.HistogramVec
	redisErrors  *prometheus.CounterVec
	apiSeconds   *prometheus.HistogramVec
	apiErrors    *prometheus.CounterVec
	channel      *prometheus.CounterVec
	satisfaction *prometheus.CounterVec
	proactive    *prometheus.CounterVec
}

var _ bot.Observer = (*Metrics)(nil)

// New registers parcelbot's metrics and the Go runtime's.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{reg: reg}
	m.turns = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "parcelbot_turns_total", Help: "Turns handled, by the journey they ended in, language and outcome."}, []string{"journey", "lang", "outcome"})
	m.turnSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "parcelbot_turn_seconds", Help: "Time to handle a turn (engine and store).",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1}})
	m.journeys = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "parcelbot_journeys_total", Help: "Journeys started and finished, by journey and language."}, []string{"journey", "lang", "event"})
	m.escalations = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "parcelbot_escalations_total", Help: "Cases handed to agents, by reason, journey and language (journeys started minus these: contained without an agent)."}, []string{"reason", "journey", "lang"})
	m.agentSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "parcelbot_agent_seconds", Help: "Time from escalation to an agent's claim (what=claim), first reply (what=first_reply) and the end of the hand-off (what=handoff).",
		Buckets: []float64{10, 30, 60, 120, 300, 600, 1200, 3600, 4 * 3600, 24 * 3600}}, []string{"what"})
	m.compensation = prometheus.NewCounter(prometheus.CounterOpts{Name: "parcelbot_compensations_total", Help: "Membership months granted for late orders."})
	m.redisSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "parcelbot_redis_seconds", Help: "Redis round trips, by command (pipeline for pipelines).",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .05, .25, 1}}, []string{"cmd"})
	m.redisErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "parcelbot_redis_errors_total", Help: "Redis round trips that failed, by command."}, []string{"cmd"})
	m.apiSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "parcelbot_api_seconds", Help: "Calls to outside APIs, by API and HTTP status class.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10, 60}}, []string{"api", "status"})
	m.apiErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "parcelbot_api_errors_total", Help: "Calls to outside APIs that failed (transport error or 5xx/429), by API."}, []string{"api"})
	m.channel = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "parcelbot_channel_updates_total", Help: "Updates a channel did not hand to a turn, by event: flood_dropped, flood_notice, dead_letter (given up, see the dead-letter stream), unsupported (a sticker, photo, voice message or edit, answered with a notice), group."}, []string{"channel", "event"})
	for _, e := range []string{"flood_dropped", "flood_notice", "dead_letter", "unsupported", "group"} {
		m.channel.WithLabelValues("telegram", e)
	}
	m.satisfaction = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "parcelbot_satisfaction_total", Help: "Customers' ratings (1-5) of resolved cases, by case kind and language: the average is sum(rating*count)/sum(count)."}, []string{"kind", "lang", "rating"})
	reg.MustRegister(m.satisfaction)
	m.proactive = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "parcelbot_proactive_total", Help: "Shop events the bot tells customers first, by event type and outcome: received, sent, held (quiet hours), limited, not_linked, opted_out, gone, answered (the customer replied)."}, []string{"type", "outcome"})
	reg.MustRegister(m.proactive)
	reg.MustRegister(m.turns, m.turnSeconds, m.journeys, m.escalations, m.agentSeconds, m.compensation, m.redisSeconds, m.redisErrors, m.apiSeconds, m.apiErrors, m.channel)
	return m
}

// Proactive implements bot.Observer.
func (m *Metrics) Proactive(kind, outcome string) {
	m.proactive.WithLabelValues(kind, outcome).Inc()
}

// Satisfaction implements bot.Observer.
func (m *Metrics) Satisfaction(kind, lang string, rating int) {
	m.satisfaction.WithLabelValues(kind, lang, strconv.Itoa(rating)).Inc()
}

// Channel returns a counter of a channel's events (telegram.Config.Count).
func (m *Metrics) Channel(channel string) func(event string) {
	return func(event string) { m.channel.WithLabelValues(channel, event).Inc() }
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }

// Turn implements bot.Observer.
func (m *Metrics) Turn(journey, lang string, took time.Duration, failed bool) {
	outcome := "ok"
	if failed {
		outcome = "failed"
	}
	if journey == "" {
		journey = "none"
	}
	m.turns.WithLabelValues(journey, lang, outcome).Inc()
	m.turnSeconds.Observe(took.Seconds())
}

// Journey implements bot.Observer.
func (m *Metrics) Journey(journey, lang, what string) {
	m.journeys.WithLabelValues(journey, lang, what).Inc()
}

// Escalation implements bot.Observer.
func (m *Metrics) Escalation(reason, journey, lang string) {
	m.escalations.WithLabelValues(reason, journey, lang).Inc()
}

// Compensation implements bot.Observer.
func (m *Metrics) Compensation() { m.compensation.Inc() }

// Agent implements bot.Observer.
func (m *Metrics) Agent(what string, took time.Duration) {
	m.agentSeconds.WithLabelValues(what).Observe(took.Seconds())
}

// Redis returns a go-redis hook that times every round trip.
func (m *Metrics) Redis() goredis.Hook { return redisHook{m} }

type redisHook struct{ m *Metrics }

func (h redisHook) DialHook(next goredis.DialHook) goredis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

func (h redisHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		t0 := time.Now()
		err := next(ctx, cmd)
		name := cmd.Name()
		h.m.redisSeconds.WithLabelValues(name).Observe(time.Since(t0).Seconds())
		if err != nil && err != goredis.Nil {
			h.m.redisErrors.WithLabelValues(name).Inc()
		}
		return err
	}
}

func (h redisHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		t0 := time.Now()
		err := next(ctx, cmds)
		h.m.redisSeconds.WithLabelValues("pipeline").Observe(time.Since(t0).Seconds())
		if err != nil && err != goredis.Nil {
			h.m.redisErrors.WithLabelValues("pipeline").Inc()
		}
		return err
	}
}

// Transport times the HTTP calls of an outside API (telegram, slack, shop)
// made through next (nil: http.DefaultTransport). URLs are not recorded:
// the Telegram token is part of them.
func (m *Metrics) Transport(api string, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return roundTripper{m: m, api: api, next: next}
}

type roundTripper struct {
	m    *Metrics
	api  string
	next http.RoundTripper
}

func (rt roundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	t0 := time.Now()
	resp, err := rt.next.RoundTrip(r)
	status := "error"
	if err == nil {
		status = strconv.Itoa(resp.StatusCode/100) + "xx"
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			rt.m.apiErrors.WithLabelValues(rt.api).Inc()
		}
	} else {
		rt.m.apiErrors.WithLabelValues(rt.api).Inc()
	}
	rt.m.apiSeconds.WithLabelValues(rt.api, status).Observe(time.Since(t0).Seconds())
	return resp, err
}
