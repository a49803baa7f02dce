#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "selfexp/buf.h"
#include "selfexp/num.h"
#include "selfexp/sim.h"

static const char usage[] =
	"usage: selfexp sim [--host ADDR] [--port N] [--seed S] [--weights FILE]\n"
	"                   [--confidence-decimals D] [--explain MODE] [--explain-pe MODE]\n"
	"                   [--overconfidence F] [--preset NAME] [--style STYLE]\n"
	"                   [--latency-ms MEAN[,JITTER]] [--rpm N] [--fault-rate R]\n"
	"                   [--faults LIST] [--stall-ms MS] [--max-body BYTES] [--threads N]\n"
	"                   [--dialect NAME] [--ctx-size TOKENS] [--require-header NAME[=VALUE]]\n"
	"                   [--batch-delay MS] [--batch-faults LIST] [--batch-fail-rate R]\n"
	"                   [--batch-api-ms MS] [--tokenize chunks|digits] [--quiet]\n"
	"\n"
	"Serve the simulated model: an OpenAI-compatible chat-completion API on\n"
	"loopback whose ground truth is known (DESIGN.md section 8). When it is\n"
	"listening it prints its base URL (http://HOST:PORT/v1) on stdout; it stops\n"
	"cleanly (exit 0) on SIGINT or SIGTERM.\n"
	"\n"
	"endpoints:\n"
	"  POST /v1/chat/completions   the answer (OpenAI schema; logprobs when asked)\n"
	"  GET  /v1/models             the one model, \"selfexp-sim\"\n"
	"  POST /v1/files              upload a batch input file (multipart: purpose=batch,\n"
	"                              file); GET /v1/files[?purpose=P][&limit=N]\n"
	"                              [&after=ID] lists the files, newest first (N\n"
	"                              default 10000), has_more when there are more\n"
	"  GET  /v1/files/ID/content   a file's content (input, output or error file)\n"
	"  POST /v1/batches            create a batch (input_file_id, endpoint\n"
	"                              /v1/chat/completions, completion_window 24h)\n"
	"  GET  /v1/batches[?limit=N][&after=ID]\n"
	"                              the batches, newest first (N default 20), those\n"
	"                              older than batch ID; has_more when there are more\n"
	"  GET  /v1/batches/ID         a batch: validating, in_progress after half of\n"
	"                              --batch-delay, then (polled after it) completed, or\n"
	"                              expired / failed under --batch-faults; its\n"
	"                              request_counts, output_file_id, error_file_id. Each\n"
	"                              line is answered as /v1/chat/completions answers its\n"
	"                              body (no chat faults, no latency)\n"
	"  POST /v1/batches/ID/cancel  cancel a batch not done yet\n"
	"  GET  /health                {\"status\":\"ok\"}\n"
	"  GET  /stats                 counters: requests, chat_requests, unique_bodies\n"
	"                              (distinct SHA-256 of chat bodies), by_status (of chat\n"
	"                              requests), by_fault, rate_limited, delayed (answers\n"
	"                              held back: latency, stall), by_condition,\n"
	"                              batch_lines, batches: files_uploaded,\n"
	"                              batches_created, batches_cancelled, downloads,\n"
	"                              downloads_cut, lines, lines_failed\n"
	"\n";

static const char usage_model[] =
	"the model:\n"
	"  P(pos) = sigmoid(bias + sum_i w(lowercase token_i)), tokens = the whitespace-\n"
	"  separated words inside the user message's <review> ... <review> wrapper. The\n"
	"  condition (ep, pe, ep-topk, pe-topk, pred) is read from the format instructions\n"
	"  of the system prompt. label = 1 when P(pos) > 0.5 (sampled when temperature > 0);\n"
	"  confidence = P(label) rounded to D decimals. With \"logprobs\": true the label\n"
	"  token carries log P(label) and its top_logprobs alternative log P(other).\n"
	"  usage counts ceil(bytes / 4) tokens: the prompt = all message contents, the\n"
	"  completion = the answer text. max_tokens cuts the answer (finish_reason \"length\").\n"
	"\n";

static const char usage_options[] =
	"options:\n"
	"  --host ADDR                 numeric address to listen on (default 127.0.0.1)\n"
	"  --port N                    port, 0 = a free one (default 0)\n"
	"  --seed S                    seed of every random choice (default 0); answers are\n"
	"                              a function of the seed and the request body\n"
	"  --weights FILE              model weights (default $SELFEXP_HOME/data/sim-weights.txt)\n"
	"  --confidence-decimals D     digits of the verbal confidence, 0..9 (default 1)\n"
	"  --explain MODE              self-explanation values (default faithful):\n"
	"      faithful                true contribution w_i / max_j |w_j|, 3 decimals\n"
	"      noisy:SIGMA             faithful + Gaussian noise of sd SIGMA, clipped to [-1, 1]\n"
	"      coarse                  faithful rounded to -1, -0.5, 0, 0.5 or 1\n"
	"      random                  uniform in [-1, 1]\n"
	"      inverted                minus faithful\n"
	"                              top-k answers list the k = max(floor(0.2 n), 1) tokens\n"
	"                              with the largest values toward the label\n"
	"  --explain-pe MODE           the same for the predict-first conditions (pe, pe-topk)\n"
	"                              (default: as --explain)\n"
	"  --overconfidence F          over-state the verbal confidence c as c + (1 - c) F,\n"
	"                              F in 0..1 (default 0: calibrated); logprobs keep P\n"
	"  --preset NAME               settings of the three above, applied where it stands\n"
	"                              (later options override it):\n"
	"      literature              E-P faithful, P-E post-hoc (--explain-pe noisy:0.5),\n"
	"                              as studies of self-explanations report; the demo's\n"
	"                              default\n"
	"      plain                   every condition faithful\n"
	"                              (both: --overconfidence 0)\n"
	"  --style STYLE               answer layout (default clean): clean (the paper's two\n"
	"                              lines), fenced (code fences), prose, echo (the format\n"
	"                              template echoed first), unquoted (bare words), truncated\n"
	"                              (list cut, finish_reason \"length\"), mixed (one per body)\n"
	"  --latency-ms MEAN[,JITTER]  delay of each answer, uniform in MEAN +- JITTER; a\n"
	"                              waiting answer holds no worker thread\n"
	"  --rpm N                     chat requests per minute (token bucket, burst N/60); the excess\n"
	"                              gets 429 with Retry-After\n"
	"  --fault-rate R              probability of a fault per attempt, 0..1 (default 0)\n"
	"  --faults LIST               faults to draw from, comma-separated (default all):\n"
	"                              429 (with Retry-After), 500, 503, reset (connection\n"
	"                              closed), stall (no answer until --stall-ms, then closed),\n"
	"                              truncate (a 200 cut half-way), garbage (a 200 not JSON)\n"
	"  --stall-ms MS               how long a stall lasts (default 300000)\n"
	"  --max-body BYTES            larger request bodies get a 400 (default 1048576)\n"
	"  --threads N                 worker threads (default: the number of CPUs)\n"
	"  --tokenize chunks|digits    logprobs' tokens: whitespace-separated chunks (default),\n"
	"                              or every digit a token of its own, as real tokenizers\n"
	"                              split numbers (digits 0 and 1 that are not the label\n"
	"                              then carry both as alternatives)\n"
	;

static const char usage_dialects[] =
	"  --dialect NAME              behave like this server where servers differ\n"
	"                              (docs/endpoints.md; default openai):\n"
	"      openai                  OpenAI's chat completions\n"
	"      openai-reasoning        an o-series / GPT-5 model: 400 (param named) on\n"
	"                              max_tokens, temperature or top_p other than 1, and\n"
	"                              logprobs; takes max_completion_tokens; usage has\n"
	"                              completion_tokens_details.reasoning_tokens (64 per\n"
	"                              choice, inside completion_tokens, spent first: a\n"
	"                              max_completion_tokens of 64 or less leaves an empty\n"
	"                              answer, finish_reason \"length\")\n"
	"      azure                   Azure OpenAI: POST /openai/deployments/NAME/chat/\n"
	"                              completions only; 401 without an api-key header,\n"
	"                              404 \"Resource not found\" without ?api-version=\n"
	"      llamacpp                llama-server: a timings block; errors\n"
	"                              {\"error\":{\"code\",\"message\",\"type\"}}; n > 1 refused\n"
	"                              with 500 \"Only one completion choice is allowed\";\n"
	"                              bad JSON a 500; over --ctx-size a 400\n"
	"                              exceed_context_size_error (the prompt alone) or a\n"
	"                              500 \"context shift is disabled\"\n"
	"      ollama                  Ollama: n ignored (one choice); errors with null\n"
	"                              param and code\n"
	"      vllm                    vLLM: n honoured; errors {\"object\":\"error\",...}\n"
	"  --ctx-size TOKENS           context of the model: prompt + max tokens over it\n"
	"                              is refused as the dialect's server does (default\n"
	"                              unlimited)\n"
	"  --require-header NAME[=VALUE]\n"
	"                              chat requests without that header (or value) get 401\n";

static const char usage_batch_options[] =
	"  --batch-delay MS            a batch is done when polled MS after its creation\n"
	"                              (default 0)\n"
	"  --batch-faults LIST         faults of the Batch API, comma-separated: lines (each\n"
	"                              line fails with --batch-fail-rate, drawn per batch),\n"
	"                              always (the same lines fail in every batch), expire\n"
	"                              (the first batch expires half done; with fail, the\n"
	"                              second), fail (the first batch fails), cut (the first\n"
	"                              download of each output file stops half-way)\n"
	"  --batch-fail-rate R         share of lines the lines and always faults fail, 0..1\n"
	"                              (default 0.2)\n"
	"  --batch-api-ms MS           delay the answers to uploads, batch creations and\n"
	"                              cancels by MS, after the file or batch exists (a client\n"
	"                              killed meanwhile made it without learning its id)\n"
	"  --quiet                     no server diagnostics on stderr\n"
	"  -h, --help                  show this help\n"
	"\n"
	"exit status: 0 stopped by a signal, 1 cannot start (weights, port), 2 usage error\n"
	"\n"
	"example:\n"
	"  selfexp sim --port 8080 --explain noisy:0.2 --style mixed\n"
	"  selfexp sim --fault-rate 0.1 --faults 429,reset --latency-ms 200,50\n"
	"  selfexp sim --dialect llamacpp --ctx-size 2048\n";

enum { OPT_HOST = 256, OPT_PORT, OPT_SEED, OPT_WEIGHTS, OPT_DEC, OPT_EXPLAIN, OPT_STYLE, OPT_LAT,
       OPT_RPM, OPT_RATE, OPT_FAULTS, OPT_STALL, OPT_MAXBODY, OPT_THREADS, OPT_QUIET,
       OPT_TOKENIZE, OPT_EXPLAIN_PE, OPT_OVERCONF, OPT_PRESET, OPT_DIALECT, OPT_CTX,
       OPT_REQHDR, OPT_BDELAY, OPT_BFAULTS, OPT_BRATE, OPT_BAPI };

static const struct option options[] = {
	{ "host", required_argument, NULL, OPT_HOST },
	{ "port", required_argument, NULL, OPT_PORT },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "weights", required_argument, NULL, OPT_WEIGHTS },
	{ "confidence-decimals", required_argument, NULL, OPT_DEC },
	{ "explain", required_argument, NULL, OPT_EXPLAIN },
	{ "style", required_argument, NULL, OPT_STYLE },
	{ "latency-ms", required_argument, NULL, OPT_LAT },
	{ "rpm", required_argument, NULL, OPT_RPM },
	{ "fault-rate", required_argument, NULL, OPT_RATE },
	{ "faults", required_argument, NULL, OPT_FAULTS },
	{ "stall-ms", required_argument, NULL, OPT_STALL },
	{ "max-body", required_argument, NULL, OPT_MAXBODY },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "tokenize", required_argument, NULL, OPT_TOKENIZE },
	{ "explain-pe", required_argument, NULL, OPT_EXPLAIN_PE },
	{ "overconfidence", required_argument, NULL, OPT_OVERCONF },
	{ "preset", required_argument, NULL, OPT_PRESET },
	{ "dialect", required_argument, NULL, OPT_DIALECT },
	{ "ctx-size", required_argument, NULL, OPT_CTX },
	{ "require-header", required_argument, NULL, OPT_REQHDR },
	{ "batch-delay", required_argument, NULL, OPT_BDELAY },
	{ "batch-faults", required_argument, NULL, OPT_BFAULTS },
	{ "batch-fail-rate", required_argument, NULL, OPT_BRATE },
	{ "batch-api-ms", required_argument, NULL, OPT_BAPI },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/*
 * NAME of --require-header NAME[=VALUE]: an HTTP header name (RFC 9110
 * token characters) of at most 127 bytes, the most the server compares; any
 * other name no request can carry, and every chat request would get 401.
 */
static int header_name_ok(const char *v)
{
	size_t n = strcspn(v, "=");
	size_t i;

	if (!n || n > 127)
		return 0;
	for (i = 0; i < n; i++)
		if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') ||
		      (v[i] >= '0' && v[i] <= '9') || strchr("!#$%&'*+-.^_`|~", v[i])))
			return 0;
	return 1;
}

static int parse_latency(const char *v, struct sx_sim_config *cfg)
{
	const char *comma = strchr(v, ',');
	struct sx_buf b = SX_BUF_INIT;
	int rc;

	if (!comma)
		return sx_parse_double(v, &cfg->latency_ms) || !(cfg->latency_ms >= 0) ? -1 : 0;
	sx_buf_add(&b, v, (size_t)(comma - v));
	rc = sx_parse_double(b.buf, &cfg->latency_ms) || !(cfg->latency_ms >= 0) ||
	     sx_parse_double(comma + 1, &cfg->jitter_ms) || !(cfg->jitter_ms >= 0);
	sx_buf_release(&b);
	return rc ? -1 : 0;
}

int cmd_sim(int argc, char **argv)
{
	struct sx_sim_config cfg = SX_SIM_CONFIG_INIT;
	struct sx_err err = SX_ERR_INIT;
	struct sx_buf weights = SX_BUF_INIT;
	struct sx_sim *sim = NULL;
	sigset_t set;
	long l;
	int c, sig = 0;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(usage, stdout);
			fputs(usage_model, stdout);
			fputs(usage_options, stdout);
			fputs(usage_dialects, stdout);
			fputs(usage_batch_options, stdout);
			return SX_EXIT_OK;
		case OPT_HOST:
			cfg.host = optarg;
			break;
		case OPT_PORT:
			if (sx_parse_long(optarg, 0, 65535, &l))
				return sx_cli_bad_value("sim", "--port", optarg, "a port 0..65535");
			cfg.port = (int)l;
			break;
		case OPT_SEED:
			if (sx_parse_long(optarg, 0, LONG_MAX, &l))
				return sx_cli_bad_value("sim", "--seed", optarg, "a non-negative integer");
			cfg.seed = (uint64_t)l;
			break;
		case OPT_WEIGHTS:
			cfg.weights_path = optarg;
			break;
		case OPT_DEC:
			if (sx_parse_long(optarg, 0, 9, &l))
				return sx_cli_bad_value("sim", "--confidence-decimals", optarg, "0..9");
			cfg.confidence_decimals = (int)l;
			break;
		case OPT_PRESET:
			if (sx_sim_preset(optarg, &cfg))
				return sx_cli_bad_value("sim", "--preset", optarg, "literature or plain");
			break;
		case OPT_EXPLAIN_PE:
			if (sx_sim_explain_parse(optarg, &cfg.pe_explain, &cfg.pe_noise_sigma))
				return sx_cli_bad_value("sim", "--explain-pe", optarg,
							"faithful, noisy:SIGMA, coarse, random or inverted");
			cfg.pe_set = 1;
			break;
		case OPT_OVERCONF:
			if (sx_parse_double(optarg, &cfg.overconfidence) || !(cfg.overconfidence >= 0) ||
			    cfg.overconfidence > 1)
				return sx_cli_bad_value("sim", "--overconfidence", optarg, "a number in 0..1");
			break;
		case OPT_EXPLAIN:
			if (sx_sim_explain_parse(optarg, &cfg.explain, &cfg.noise_sigma))
				return sx_cli_bad_value("sim", "--explain", optarg,
							"faithful, noisy:SIGMA, coarse, random or inverted");
			break;
		case OPT_STYLE:
			if (sx_sim_style_from_name(optarg, &cfg.style))
				return sx_cli_bad_value("sim", "--style", optarg,
							"clean, fenced, prose, echo, unquoted, truncated "
							"or mixed");
			break;
		case OPT_LAT:
			if (parse_latency(optarg, &cfg))
				return sx_cli_bad_value("sim", "--latency-ms", optarg, "MEAN[,JITTER] >= 0");
			break;
		case OPT_RPM:
			if (sx_parse_long(optarg, 0, 100000000, &cfg.rpm))
				return sx_cli_bad_value("sim", "--rpm", optarg, "a non-negative integer");
			break;
		case OPT_RATE:
			if (sx_parse_double(optarg, &cfg.fault_rate) || !(cfg.fault_rate >= 0) ||
			    cfg.fault_rate > 1)
				return sx_cli_bad_value("sim", "--fault-rate", optarg, "a number in 0..1");
			break;
		case OPT_FAULTS:
			if (sx_sim_faults_parse(optarg, &cfg.faults, &err)) {
				sx_cli_error("sim: %s", err.msg);
				return SX_EXIT_USAGE;
			}
			break;
		case OPT_TOKENIZE:
			if (strcmp(optarg, "chunks") && strcmp(optarg, "digits"))
				return sx_cli_bad_value("sim", "--tokenize", optarg, "chunks or digits");
			cfg.digit_tokens = !strcmp(optarg, "digits");
			break;
		case OPT_STALL:
			if (sx_parse_long(optarg, 1, 86400000, &cfg.stall_ms))
				return sx_cli_bad_value("sim", "--stall-ms", optarg, "milliseconds >= 1");
			break;
		case OPT_MAXBODY:
			if (sx_parse_long(optarg, 1, 1L << 30, &l))
				return sx_cli_bad_value("sim", "--max-body", optarg, "bytes, 1..2^30");
			cfg.max_body = (size_t)l;
			break;
		case OPT_THREADS:
			if (sx_parse_long(optarg, 1, 1024, &l))
				return sx_cli_bad_value("sim", "--threads", optarg, "1..1024");
			cfg.threads = (int)l;
			break;
		case OPT_QUIET:
			cfg.quiet = 1;
			break;
		case OPT_DIALECT:
			if (sx_sim_dialect_from_name(optarg, &cfg.dialect))
				return sx_cli_bad_value("sim", "--dialect", optarg,
							"openai, openai-reasoning, azure, llamacpp, "
							"ollama or vllm");
			break;
		case OPT_CTX:
			if (sx_parse_long(optarg, 1, 100000000, &cfg.ctx_size))
				return sx_cli_bad_value("sim", "--ctx-size", optarg, "a positive integer");
			break;
		case OPT_REQHDR:
			if (!header_name_ok(optarg))
				return sx_cli_bad_value("sim", "--require-header", optarg,
							"NAME[=VALUE], NAME a header name of 1..127 "
							"letters, digits or !#$%&'*+-.^_`|~");
			cfg.require_header = optarg;
			break;
		case OPT_BDELAY:
			if (sx_parse_double(optarg, &cfg.batch_delay_ms) || !(cfg.batch_delay_ms >= 0))
				return sx_cli_bad_value("sim", "--batch-delay", optarg, "milliseconds >= 0");
			break;
		case OPT_BFAULTS:
			if (sx_sim_batch_faults_parse(optarg, &cfg.batch_faults, &err)) {
				sx_cli_error("sim: %s", err.msg);
				return SX_EXIT_USAGE;
			}
			break;
		case OPT_BAPI:
			if (sx_parse_double(optarg, &cfg.batch_api_ms) || !(cfg.batch_api_ms >= 0))
				return sx_cli_bad_value("sim", "--batch-api-ms", optarg, "milliseconds >= 0");
			break;
		case OPT_BRATE:
			if (sx_parse_double(optarg, &cfg.batch_fail_rate) || !(cfg.batch_fail_rate >= 0) ||
			    cfg.batch_fail_rate > 1)
				return sx_cli_bad_value("sim", "--batch-fail-rate", optarg, "a number in 0..1");
			break;
		default:
			sx_cli_error("sim: unknown option '%s'", argv[optind - 1]);
			return sx_cli_usage_hint("sim");
		}
	}
	if (optind < argc) {
		sx_cli_error("sim: unexpected argument '%s'", argv[optind]);
		return sx_cli_usage_hint("sim");
	}
	if (!cfg.weights_path) {
		sx_buf_addf(&weights, "%s/data/sim-weights.txt", sx_cli_home());
		cfg.weights_path = weights.buf;
	}

	/* Block the stop signals before any thread starts, so that only sigwait sees them. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (sx_sim_start(&cfg, &sim, &err)) {
		sx_cli_error("sim: %s", err.msg);
		sx_buf_release(&weights);
		return SX_EXIT_FAIL;
	}
	printf("%s\n", sx_sim_address(sim));
	fflush(stdout);
	while (sigwait(&set, &sig))
		;
	sx_sim_stop(sim);
	sx_buf_release(&weights);
	return SX_EXIT_OK;
}
