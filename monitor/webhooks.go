package monitor

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/store"
)

// Webhook headers: the signature is hex HMAC-SHA256, keyed by the rule's
// secret, of the timestamp, a dot and the body, so a receiver can refuse
// a replayed old post.
const (
	HeaderSignature = "X-Sentinel-Signature"
	HeaderTimestamp = "X-Sentinel-Timestamp"
)

// MaxAttempts is how many times a delivery is tried: at once, then after
// 1, 2, 4 and 8 minutes; then it is marked failed.
const MaxAttempts = 5

// Backoff is the wait after the n-th failed attempt (1-based).
func Backoff(n int) time.Duration { return time.Minute << (n - 1) }

// Sign is the signature header's value of body sent at ts.
func Sign(secret string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%d.", ts)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// ValidateWebhookURL checks an admin's webhook target: an absolute http or
// https URL with a host, no user info, at most 2,000 characters. Where it
// points is checked again when it is dialled (see NewWebhooks).
func ValidateWebhookURL(raw string) error {
	if len(raw) > 2000 {
		return errors.New("the webhook URL is too long (at most 2,000 characters)")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return errors.New("the webhook URL must be an http:// or https:// address with a host")
	}
	if u.User != nil {
		return errors.New("the webhook URL must not carry a user name or password")
	}
	return nil
}

// ErrPrivateAddress refuses a webhook that resolves to a private address.
var ErrPrivateAddress = errors.New("webhook target resolves to a loopback, private, link-local or otherwise internal address")

// Webhooks posts alert events to rules' webhooks.
type Webhooks struct {
	client *http.Client
	secret func(ctx context.Context, t store.Tenant, ruleID string) (string, error)
	// budget is deliverBudget (tests shorten it).
	budget time.Duration
}

// NewWebhooks is a sender. Unless allowPrivate, it refuses to connect to
// any address publicAddress refuses: the check runs on the address actually
// dialled, after DNS resolution, so a name that resolves (or rebinds) to an
// internal address is refused too. It follows no redirect.
func NewWebhooks(allowPrivate bool) *Webhooks {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	if !allowPrivate {
		dialer.Control = func(network, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			if !publicAddress(host) {
				return ErrPrivateAddress
			}
			return nil
		}
	}
	tr := &http.Transport{DialContext: dialer.DialContext, Proxy: nil, TLSHandshakeTimeout: 5 * time.Second,
		ResponseHeaderTimeout: 10 * time.Second, MaxIdleConns: 10, IdleConnTimeout: 30 * time.Second}
	return &Webhooks{client: &http.Client{Transport: tr, Timeout: 15 * time.Second,
		// A receiver answers; it does not send the signed body elsewhere.
		// A redirect is an answer, recorded with its status (not 2xx).
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		secret: ruleSecret, budget: deliverBudget}
}

// nonPublic are the address ranges a webhook may not reach besides those
// net.IP's methods name (loopback, private, link-local, unspecified,
// multicast): "this network", shared address space (carrier NAT; cloud
// metadata services live there), benchmarking, and the IPv6 prefixes that
// embed an IPv4 address (NAT64, 6to4), which could reach any of those.
var nonPublic = func() []netip.Prefix {
	var out []netip.Prefix
	for _, p := range []string{"0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "198.18.0.0/15", "240.0.0.0/4",
		"64:ff9b::/96", "64:ff9b:1::/48", "2002::/16", "fc00::/7"} {
		out = append(out, netip.MustParsePrefix(p))
	}
	return out
}()

// publicAddress reports whether host, a dialled IP address, is one a
// webhook may reach.
func publicAddress(host string) bool {
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	a = a.Unmap() // ::ffff:10.0.0.1 is 10.0.0.1
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsUnspecified() ||
		a.IsMulticast() || a.IsInterfaceLocalMulticast() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

func ruleSecret(ctx context.Context, t store.Tenant, ruleID string) (string, error) {
	r, err := store.GetAlertRule(ctx, t, ruleID)
	if err != nil {
		return "", err
	}
	if r.WebhookSecret == "" {
		// Never send what anyone could sign.
		return "", fmt.Errorf("monitor: alert rule %s has a webhook without a secret", ruleID)
	}
	return r.WebhookSecret, nil
}

// deliverBudget is the longest one tenant's deliveries may take in one run
// of the evaluator (whose lease lasts two minutes, and which serves every
// tenant in turn): a slow receiver delays its own deliveries, which wait
// for the next run, not the other tenants' alerts.
const deliverBudget = 30 * time.Second

// Deliver sends the tenant's deliveries that are due at now, one attempt
// each, within deliverBudget: a 2xx answer delivers it; anything else waits
// Backoff(attempts) for the next attempt, or fails it after MaxAttempts.
func (w *Webhooks) Deliver(ctx context.Context, t store.Tenant, now time.Time) error {
	due, err := store.DueDeliveries(ctx, t, now, 50)
	if err != nil {
		return err
	}
	started := time.Now()
	var errs []error
	for i := range due {
		if time.Since(started) > w.budget {
			break // the rest stay due for the next run
		}
		d := &due[i]
		secret, err := w.secret(ctx, t, d.RuleID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		d.Attempts++
		d.LastStatus, d.LastError = w.post(ctx, d, secret, now)
		switch {
		case d.LastStatus >= 200 && d.LastStatus < 300:
			at := now.UTC()
			d.State, d.DeliveredAt = store.DeliveryDelivered, &at
		case d.Attempts >= MaxAttempts:
			d.State = store.DeliveryFailed
		default:
			d.NextAttemptAt = now.Add(Backoff(d.Attempts))
		}
		if err := store.RecordDeliveryAttempt(ctx, t, d); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// post sends one attempt and returns the status (0 when no answer came)
// and, when it failed, what went wrong in words for the deliveries table.
func (w *Webhooks) post(ctx context.Context, d *store.WebhookDelivery, secret string, now time.Time) (int, string) {
	if err := ValidateWebhookURL(d.URL); err != nil {
		return 0, err.Error()
	}
	body := []byte(d.Payload)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	ts := now.Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Sentinel-Webhook/1")
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(secret, ts, body))
	req.Header.Set("X-Sentinel-Delivery", d.ID)
	res, err := w.client.Do(req)
	if err != nil {
		slog.Warn("webhook delivery failed", "delivery_id", d.ID, "tenant_id", d.TenantID, "error", err)
		return 0, deliveryProblem(err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode < 200 || res.StatusCode >= 300 {
		return res.StatusCode, "answered " + res.Status
	}
	return res.StatusCode, ""
}

// deliveryProblem says in words why a webhook got no answer, for the
// admins who read the deliveries table: the transport's own error names
// this server's resolver and addresses, so it goes to the log only.
func deliveryProblem(err error) string {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	switch {
	case errors.Is(err, ErrPrivateAddress):
		return ErrPrivateAddress.Error()
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded):
		return "no answer in time"
	case errors.As(err, &dnsErr):
		return "the host name " + scoring.Truncate(dnsErr.Name, 200) + " could not be resolved"
	case errors.As(err, &certErr) || errors.As(err, &unknownCA) || errors.As(err, &hostErr):
		return "the server's TLS certificate was not accepted"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "the connection was refused"
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return "no connection could be made"
	}
	return "the request failed before an answer came (the server log has the details)"
}
