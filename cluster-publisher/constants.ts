/** Where the publisher, its Secret and its fragments live unless told otherwise (as the manifests install them). */
export const DEFAULT_NAMESPACE = 'traefik'

/** The label that marks a ConfigMap as a route fragment, as in the proof of concept. */
export const FRAGMENT_LABEL = 'traefik-config-fragment'
export const FRAGMENT_FILE_PATTERN = /^[^.].*\.(ya?ml|json)$/i

/** YAML aliases allowed in one fragment: enough for real use, too few for an alias bomb. */
export const MAX_YAML_ALIASES = 100

/** Quiet time after the last change before the config is rebuilt. */
export const COALESCE_DELAY_MS = 100
/** Longest a change waits while changes keep arriving. */
export const COALESCE_MAX_WAIT_MS = 500
export const RETRY_MIN_MS = 500
export const RETRY_MAX_MS = 30_000
/** A replica that won the Lease but could not publish stays out of the race this long, doubling per failure in a row. */
export const LEAD_RETRY_MIN_MS = 2_000
export const LEAD_RETRY_MAX_MS = 60_000

/** With --kubernetes: the ConfigMap, in the publisher's namespace, whose key holds the rollout policy (none: no policy). */
export const ROLLOUT_POLICY_CONFIG_MAP = 'dime-rollout-policy'
export const ROLLOUT_POLICY_KEY = 'policy.yaml'
