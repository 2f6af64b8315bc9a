package cli

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/matcher"
)

// explainMaxContainers is how many containers one row of explain names
// before it says how many more there are.
const explainMaxContainers = 5

func newExplainCmd() *cobra.Command {
	var (
		af            apiFlags
		out           outputFlag
		action, stage string
	)
	cmd := &cobra.Command{
		Use:   "explain APP --action A --stage S",
		Short: "Say which hooks of an app would run for an action and stage, and why the others would not",
		Long: `Explain what the engine would plan for one stage of an app now, from the
app's registered container inventory: every hook of the app, whether it would
run, why (matched, disabled, overridden, other-action-stage,
no-container-matched) and on which containers — or, for a miss,
the first criterion that failed on each container.

Hooks that would run come first, then the other hooks of that stage, then
hooks of other stages. -o json or yaml gives every container's verdict.`,
		Example: `  hookshot explain 7be5ae7c-151d-4230-ac39-ac1d0b33c2a9 --action snapshot --stage pre`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			q := url.Values{"action": {action}, "stage": {stage}}
			var raw json.RawMessage
			app, err := resolveApp(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			if _, err := c.Do(cmd.Context(), http.MethodGet, c.AccountPath("/k8s/v1/apps/"+url.PathEscape(app)+"/explain?"+q.Encode()), nil, &raw); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if out.format != "table" && out.format != "" {
				var generic any
				if err := json.Unmarshal(raw, &generic); err != nil {
					return err
				}
				return out.print(w, generic, nil)
			}
			var x explanation
			if err := json.Unmarshal(raw, &x); err != nil {
				return fmt.Errorf("decode explanation: %w", err)
			}
			return printExplanation(w, &x)
		},
	}
	af.register(cmd)
	out.register(cmd, "table")
	cmd.Flags().StringVar(&action, "action", "", "snapshot, backup, restore or failover (required)")
	cmd.Flags().StringVar(&stage, "stage", "", "pre or post (required)")
	_ = cmd.MarkFlagRequired("action")
	_ = cmd.MarkFlagRequired("stage")
	return cmd
}

// explanation is the API's application/hookshot-explanation.
type explanation struct {
	AppID string `json:"appID"`
	// ClusterName is the cluster an app 2.x's containers were discovered
	// in; Message says why nothing would run when none was found.
	ClusterName string                `json:"clusterName"`
	Message     string                `json:"message"`
	Action      events.Action         `json:"action"`
	Stage       events.Stage          `json:"stage"`
	Containers  []events.Container    `json:"containers"`
	Hooks       []matcher.Explanation `json:"hooks"`
}

func printExplanation(w io.Writer, x *explanation) error {
	at := string(x.Action) + "/" + string(x.Stage)
	if len(x.Hooks) == 0 {
		fmt.Fprintf(w, "App %s has no hooks: nothing would run at %s.\n", x.AppID, at)
		return nil
	}
	name := containerNamer(x.Containers)
	// Would run, then the stage's other hooks, then other stages; by name within each.
	group := func(h *matcher.Explanation) int {
		switch {
		case h.WouldRun:
			return 0
		case h.Reason != matcher.ReasonOtherActionStage:
			return 1
		}
		return 2
	}
	hooks := slices.Clone(x.Hooks)
	slices.SortStableFunc(hooks, func(a, b matcher.Explanation) int { return cmp.Compare(group(&a), group(&b)) })

	t := &table{header: []string{"WOULD RUN", "HOOK", "ACTION/STAGE", "REASON", "CONTAINERS"}}
	running, executions := 0, 0
	for _, h := range hooks {
		would := "no"
		if h.WouldRun {
			would = "yes"
			running++
		}
		var matched, missed []string
		for _, v := range h.Containers {
			if v.Matched {
				matched = append(matched, name(v.Container))
			} else {
				missed = append(missed, name(v.Container)+": "+describeMiss(&v))
			}
		}
		if h.WouldRun {
			executions += len(matched)
		}
		var lines []string
		switch {
		case len(x.Containers) == 0 && x.ClusterName != "":
			lines = []string{"(no container of the app was found in cluster " + x.ClusterName + ")"}
		case len(x.Containers) == 0:
			lines = []string{"(the app has no containers)"}
		case len(matched) > 0:
			lines = []string{strings.Join(capped(matched), ", ")}
		default:
			lines = capped(missed)
		}
		for i, l := range lines {
			if i == 0 {
				t.add(would, h.HookName, string(h.Action)+"/"+string(h.Stage), h.Reason, l)
			} else {
				t.add("", "", "", "", l)
			}
		}
	}
	if err := (&outputFlag{format: "table"}).print(w, nil, t); err != nil {
		return err
	}
	where := ""
	if x.ClusterName != "" {
		where = " in cluster " + x.ClusterName
	}
	fmt.Fprintf(w, "\nAt %s, %d of %d hooks would run (%s) on the app's %s%s.\n",
		at, running, len(hooks), plural(executions, "execution"), plural(len(x.Containers), "container"), where)
	if x.Message != "" {
		fmt.Fprintln(w, x.Message)
	}
	return nil
}

// describeMiss says why a hook's criteria do not select one container, in
// a few words: the first criterion that failed and what it was tried on.
func describeMiss(v *matcher.ContainerVerdict) string {
	fc := v.FailedCriterion
	if fc == nil || strings.HasPrefix(v.Detail, "matchingCriteria[") {
		return v.Detail // could not be evaluated: the error says why
	}
	c := v.Container
	switch fc.Type {
	case matcher.CriterionPodLabel:
		if len(c.PodLabels) == 0 {
			return fmt.Sprintf("podLabel %q matched no label: the pod has none", fc.Value)
		}
		labels := make([]string, len(c.PodLabels))
		for i, l := range c.PodLabels {
			labels[i] = l.Name + "=" + l.Value
		}
		return fmt.Sprintf(`podLabel "%s" matched none of [%s]`, fc.Value, strings.Join(labels, " "))
	case matcher.CriterionContainerImage:
		return fmt.Sprintf(`containerImage "%s" did not match "%s"`, fc.Value, c.ContainerImage)
	case matcher.CriterionContainerName:
		return fmt.Sprintf(`containerName "%s" did not match "%s"`, fc.Value, c.ContainerName)
	case matcher.CriterionPodName:
		return fmt.Sprintf(`podName "%s" did not match "%s"`, fc.Value, c.PodName)
	case matcher.CriterionNamespaceName:
		return fmt.Sprintf(`namespaceName "%s" did not match "%s"`, fc.Value, c.NamespaceName)
	}
	return v.Detail
}

// containerNamer names containers as pod/container, with the namespace in
// front when the inventory spans more than one.
func containerNamer(cs []events.Container) func(events.Container) string {
	namespaces := map[string]bool{}
	for _, c := range cs {
		namespaces[c.NamespaceName] = true
	}
	if len(namespaces) > 1 {
		return events.Container.Key
	}
	return func(c events.Container) string { return c.PodName + "/" + c.ContainerName }
}

// capped keeps the first explainMaxContainers items and says how many more.
func capped(items []string) []string {
	if len(items) <= explainMaxContainers {
		return items
	}
	return append(slices.Clone(items[:explainMaxContainers]), fmt.Sprintf("… and %d more (-o yaml shows all)", len(items)-explainMaxContainers))
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
