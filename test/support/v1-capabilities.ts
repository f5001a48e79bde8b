/** Capabilities of a typical 8k-tier API v1 node, as the upstream HEAD node registers them. */
export const CAPS = {
  api_version: 'v1',
  supported_model_ids: ['qwen3-8b-instruct'],
  active_context_tier: '8k-fast',
  maximum_total_context_tokens: 8192,
  default_output_token_reservation: 1024,
  maximum_output_tokens: 2048,
  max_concurrency: 1,
  backend_class: 'cpu',
};
