//! The `passerelle` command line: `serve`, `train`, `eval`, `recommend`, and the batch
//! commands `score`, `cohort`, `gen-profiles` (in [`crate::batch`]).

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use passerelle_model::boost::{BoostObjective, BoostParams, DEPTH_RANGE, MAX_TREES};
use passerelle_model::catalogue::Catalogue;
use passerelle_model::catalogue::OccupationId;
use passerelle_model::embedded;
use passerelle_model::embedding::EmbeddingParams;
use passerelle_model::engine::{
    ProfileQuery, RecommendQuery, DEFAULT_OTHER_SKILLS, DEFAULT_TOP_K, MAX_OTHER_SKILLS, MAX_TOP_K,
};
use passerelle_model::error::{DataError, QueryError, TrainError};
use passerelle_model::eval::{evaluate, evaluate_with, EvalParams, EvalReport, FOLDS_RANGE};
use passerelle_model::features::{FeatureIndex, FEATURE_NAMES};
use passerelle_model::transition::{
    fit, fit_reranker, training_evidence, training_pairs, DataVersion, ModelArtifact, Objective, TrainParams,
    ValidTrainParams, HARD_POOL_RANGE, KNOTS_RANGE, RERANK_HEAD_RANGE,
};

use crate::auth::ApiKeyError;
use crate::server::{EngineSource, ServeError};
use crate::settings::SettingsError;

/// Passerelle: career pathways into digital-infrastructure jobs, from ROME 4.0 skills.
#[derive(Debug, Parser)]
#[command(name = "passerelle", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parses the process arguments as [`Parser::parse`] does (clap's message and exit status 2
    /// on an error), except that an option or positional argument taking a value accepts one
    /// that looks like a negative number: `--top-k -1` or `--max-hours -5` is then refused
    /// naming the option and its range, and `search -5` searches the text `-5`, where clap
    /// alone took `-1` for an unknown flag ("unexpected argument '-1' found") and never named
    /// the argument it was given to.
    ///
    /// A value that is not UTF-8 for an option taking text, a number or an address is refused
    /// naming the option ([`with_named_utf8_errors`]); paths may be any bytes.
    ///
    /// An empty environment variable standing for an option (`PASSERELLE_CONFIG=`) is refused
    /// naming the variable, where clap said only "a value is required for '--config <FILE>'
    /// but none was supplied" (the option was not on the command line): empty is an error, as
    /// for the `PASSERELLE_<KEY>` settings variables.
    pub fn parse_args() -> Self {
        let mut command = with_named_utf8_errors(with_negative_values(Self::command()));
        let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
        let matches = command
            .try_get_matches_from_mut(&args)
            .unwrap_or_else(|err| name_empty_env(&command, err, &args, |name| std::env::var_os(name)).exit());
        Self::from_arg_matches(&matches).unwrap_or_else(|err| err.format(&mut command).exit())
    }
}

/// `err`, or for clap's "a value is required" about an option given only through an empty
/// environment variable (`env` reads the environment), an error naming that variable.
fn name_empty_env(
    command: &clap::Command,
    err: clap::Error,
    args: &[std::ffi::OsString],
    env: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> clap::Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    fn find<'a>(command: &'a clap::Command, long: &str) -> Option<&'a clap::Arg> {
        command
            .get_arguments()
            .find(|a| a.get_env().is_some() && a.get_long() == Some(long))
            .or_else(|| command.get_subcommands().find_map(|sub| find(sub, long)))
    }
    // clap's "a value is required": an invalid value that is empty.
    let empty = matches!(err.get(ContextKind::InvalidValue), Some(ContextValue::String(v)) if v.is_empty());
    if err.kind() != ErrorKind::InvalidValue || !empty {
        return err;
    }
    let Some(ContextValue::String(shown)) = err.get(ContextKind::InvalidArg) else { return err };
    // `--config <FILE>`: the option's long name, then its value's name.
    let Some(flag) = shown.split(' ').next() else { return err };
    let Some(arg) = flag.strip_prefix("--").and_then(|long| find(command, long)) else { return err };
    let Some(name) = arg.get_env().and_then(|n| n.to_str()) else { return err };
    let on_command_line =
        args.iter().any(|a| a.to_str().is_some_and(|a| a == flag || a.starts_with(&format!("{flag}="))));
    if on_command_line || env(name).is_none_or(|v| !v.is_empty()) {
        return err;
    }
    clap::Error::raw(
        ErrorKind::InvalidValue,
        format!("environment variable {name} is empty: give it a value, or unset it (it stands for {shown})\n"),
    )
}

/// `command` and its subcommands, every option and positional argument that takes a value
/// accepting a negative number as that value (no flag of this CLI looks like a number, so
/// `-5` can only be a value): the value parser then names the argument and its range, and a
/// text argument (`search -5`) takes `-5` as its text.
pub(crate) fn with_negative_values(command: clap::Command) -> clap::Command {
    command
        .mut_args(|arg| if arg.get_action().takes_values() { arg.allow_negative_numbers(true) } else { arg })
        .mut_subcommands(with_negative_values)
}

/// `command` and its subcommands, every option taking a text (`String`), a float or a
/// socket address refusing a value that is not UTF-8 with clap's "invalid value … for
/// '--occupation <OCCUPATION>': not valid UTF-8", where clap said only "invalid UTF-8 was
/// detected in one or more arguments" without naming the option. Paths (`PathBuf`) take
/// any bytes and are left alone; so are positional arguments (`search`'s text has its own
/// parser, which names it). The parser is chosen by the type the option parses to, so an
/// option with its own parser of one of these types would lose it: the listening addresses
/// (`settings::parse_listen_addr`) are mapped to their own parser here, and any new custom
/// parser of a `String` or `f64` must be too.
pub(crate) fn with_named_utf8_errors(command: clap::Command) -> clap::Command {
    use clap::builder::ValueParser;
    fn named<T>() -> ValueParser
    where
        T: std::str::FromStr + Clone + Send + Sync + 'static,
        T::Err: std::fmt::Display,
    {
        ValueParser::new(clap::builder::TypedValueParser::try_map(clap::builder::OsStringValueParser::new(), |text| {
            text.to_str().ok_or_else(|| NOT_UTF8.to_string())?.parse::<T>().map_err(|e| e.to_string())
        }))
    }
    let string = ValueParser::string().type_id();
    // The id is the parsed type's.
    let float = named::<f64>().type_id();
    let address = named::<SocketAddr>().type_id();
    command
        .mut_args(|arg| {
            if arg.is_positional() || !arg.get_action().takes_values() {
                return arg;
            }
            let id = arg.get_value_parser().type_id();
            match () {
                () if id == string => arg.value_parser(named::<String>()),
                () if id == float => arg.value_parser(named::<f64>()),
                // Listening addresses keep their own reason (what an address is, that host
                // names are not resolved).
                () if id == address => arg.value_parser(ValueParser::new(clap::builder::TypedValueParser::try_map(
                    clap::builder::OsStringValueParser::new(),
                    |text| crate::settings::parse_listen_addr(text.to_str().ok_or_else(|| NOT_UTF8.to_string())?),
                ))),
                () => arg,
            }
        })
        .mut_subcommands(with_named_utf8_errors)
}

/// The reason given for a value that is not UTF-8.
pub(crate) const NOT_UTF8: &str = "not valid UTF-8";

/// A clap value parser for a whole-number option held as `T` (an unsigned type), within
/// `range`. The text is read as a signed number first, so that `-1` is refused naming the
/// option and its range as clap's own range check words it (`invalid value '-1' for
/// '--count <COUNT>': -1 is not in 0..=10000000`) rather than with `invalid digit found in
/// string`; unlike clap's ranged parsers, the range may reach `u64::MAX` (a seed). A text
/// that is no number keeps the standard library's reason (`invalid digit found in string`),
/// and one that is not UTF-8 is refused naming the option too.
pub fn whole<T>(range: std::ops::RangeInclusive<u64>) -> impl clap::builder::TypedValueParser<Value = T>
where
    T: TryFrom<u64> + Clone + Send + Sync + 'static,
{
    let (min, max) = (*range.start(), *range.end());
    clap::builder::TypedValueParser::try_map(clap::builder::OsStringValueParser::new(), move |text| {
        let text = text.to_str().ok_or(NOT_UTF8)?;
        let value: i128 = text.parse().map_err(|e: std::num::ParseIntError| e.to_string())?;
        u64::try_from(value)
            .ok()
            .filter(|v| (min..=max).contains(v))
            .and_then(|v| T::try_from(v).ok())
            .ok_or_else(|| format!("{value} is not in {min}..={max}"))
    })
}

/// [`whole`] for a `usize` range of the domain (`passerelle_model`'s `*_RANGE` constants).
fn whole_in<T>(range: std::ops::RangeInclusive<usize>) -> impl clap::builder::TypedValueParser<Value = T>
where
    T: TryFrom<u64> + Clone + Send + Sync + 'static,
{
    let wide = |v: usize| u64::try_from(v).unwrap_or(u64::MAX);
    whole(wide(*range.start())..=wide(*range.end()))
}

/// Subcommands.
#[derive(Debug, Subcommand)]
// Parsed once per process: the size of `ServeArgs` (one field per setting) does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Start the gRPC server (health, reflection, passerelle.v1 Pathway, Training, Search, Batch and Admin services).
    Serve(ServeArgs),
    /// Train the transition model on a ROME export and write the artifact and model card.
    Train(TrainArgs),
    /// Run the held-out protocol and print recall@10, MRR and nDCG@10 for the model and the
    /// IDF-cosine baseline.
    Eval(EvalArgs),
    /// Answer one recommendation locally and print it as JSON.
    Recommend(RecommendArgs),
    /// Plan the certifications that close the gap to a target occupation (JSON).
    Plan(crate::training_cmd::PlanArgs),
    /// Explore multi-step pathways into a target set, each step with its plan (JSON).
    Explore(crate::training_cmd::ExploreArgs),
    /// Find occupations (or, with --skills, items) from words, and print them as JSON.
    Search(crate::search_cmd::SearchArgs),
    /// Score a file of profiles (JSON Lines or CSV) on all cores: one result per profile, in
    /// order, error records for bad lines. Exit code 2 when some records failed.
    Score(crate::batch::score::ScoreArgs),
    /// Where a group of profiles can go and which core skills it most often lacks (table,
    /// JSON or CSV). Exit code 2 when some records were refused.
    Cohort(crate::batch::cohort::CohortArgs),
    /// Write synthetic, real-shaped profiles (seeded) for load tests of `score`.
    GenProfiles(crate::batch::generate::GenProfilesArgs),
}

/// Where data, target sets and model come from (embedded defaults when omitted).
#[derive(Debug, Args, Clone, Default)]
pub struct SourceArgs {
    /// Folder laid out like France Travail's ROME export (default: embedded ROME v460).
    #[arg(long, env = "PASSERELLE_DATA")]
    pub data: Option<PathBuf>,
    /// Target-set rules, TOML (default: embedded data/target_sets.toml).
    #[arg(long, env = "PASSERELLE_TARGET_SETS")]
    pub target_sets: Option<PathBuf>,
    /// Model artifact written by `passerelle train` (default: embedded model).
    #[arg(long, env = "PASSERELLE_MODEL")]
    pub model: Option<PathBuf>,
}

impl From<SourceArgs> for EngineSource {
    fn from(a: SourceArgs) -> Self {
        EngineSource { data: a.data, target_sets: a.target_sets, model: a.model, training_catalogue: None }
    }
}

pub use crate::serve_cmd::ServeArgs;

/// `passerelle train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Folder laid out like France Travail's ROME export (default: embedded ROME v460).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Where to write the model artifact (JSON).
    #[arg(long, default_value = "passerelle-model.json")]
    pub out: PathBuf,
    /// Where to write the model card (JSON); default: the artifact path with `.card.json`.
    #[arg(long)]
    pub card: Option<PathBuf>,
    /// Skip the held-out evaluation (faster). The card then has no metrics and the model
    /// no calibration: its probabilities are only prior-corrected, and answers say so.
    #[arg(long)]
    pub no_eval: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub hyper: HyperArgs,
}

/// Hyperparameters of the transition model (see `TrainParams` for ranges).
#[derive(Debug, Args, Clone)]
pub struct HyperArgs {
    /// Seed of the negative sampler (0..=18446744073709551615).
    #[arg(long, default_value_t = TrainParams::default().seed, value_parser = whole::<u64>(0..=u64::MAX))]
    pub seed: u64,
    /// Sampled non-mobilities per curated mobility (0.5..=50).
    #[arg(long, default_value_t = TrainParams::default().negatives_per_positive)]
    pub negatives_per_positive: f64,
    /// Share of negatives drawn among the source's nearest occupations (0..=1).
    #[arg(long, default_value_t = TrainParams::default().hard_negative_share)]
    pub hard_negative_share: f64,
    /// How many nearest occupations hard negatives come from (1..=1000).
    #[arg(long, default_value_t = TrainParams::default().hard_pool, value_parser = whole_in::<usize>(HARD_POOL_RANGE))]
    pub hard_pool: usize,
    /// L2 penalty of the logistic regression (0..=1e6).
    #[arg(long, default_value_t = TrainParams::default().alpha)]
    pub alpha: f64,
    /// Learning objective: pointwise classification or pairwise learning to rank.
    #[arg(long, value_enum, default_value_t = ObjectiveArg::Pointwise)]
    pub objective: ObjectiveArg,
    /// Occupations re-scored per profile by the second-stage reranker (0..=500, 0 = none).
    #[arg(long, default_value_t = TrainParams::default().rerank_head, value_parser = whole_in::<usize>(RERANK_HEAD_RANGE))]
    pub rerank_head: usize,
    /// Hinge knots per feature, a piecewise-linear model (0..=10, 0 = linear).
    #[arg(long, default_value_t = TrainParams::default().knots, value_parser = whole_in::<usize>(KNOTS_RANGE))]
    pub knots: usize,
    /// Most boosted trees added to the reranker's logit (0..=2000, 0 = a linear reranker).
    #[arg(long, default_value_t = TrainParams::default().boost.map_or(0, |b| b.rounds),
          value_parser = whole_in::<usize>(0..=MAX_TREES))]
    pub boost_rounds: usize,
    /// Depth of each boosted tree (1..=10).
    #[arg(long, default_value_t = BoostParams::default().depth, value_parser = whole_in::<usize>(DEPTH_RANGE))]
    pub boost_depth: usize,
    /// Learning rate of the boosted trees (0 excluded..=1; checked even with `--boost-rounds 0`).
    #[arg(long, default_value_t = BoostParams::default().learning_rate)]
    pub boost_learning_rate: f64,
    /// Share of training rows each boosted tree is fitted on (0 excluded..=1; checked even with
    /// `--boost-rounds 0`).
    #[arg(long, default_value_t = BoostParams::default().subsample)]
    pub boost_subsample: f64,
    /// Loss the boosted trees descend.
    #[arg(long, value_enum, default_value_t = BoostObjectiveArg::Pairwise)]
    pub boost_objective: BoostObjectiveArg,
    /// Adam steps of the learned transition embedding (features 48–49; 0..=10000, 0 = no
    /// embedding, the two features are 0).
    #[arg(long, default_value_t = EmbeddingParams::default().epochs,
          value_parser = whole::<usize>(0..=10_000))]
    pub embedding_epochs: usize,
    /// Width of the learned transition embedding (1..=256; checked even with
    /// `--embedding-epochs 0`).
    #[arg(long, default_value_t = EmbeddingParams::default().dim,
          value_parser = whole::<usize>(1..=256))]
    pub embedding_dim: usize,
}

/// `--boost-objective` values (see `BoostObjective`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BoostObjectiveArg {
    /// Logistic loss of each pair.
    Pointwise,
    /// RankNet loss of each (mobility, other) pair of a head.
    Pairwise,
    /// LambdaRank: pairs weighted by their nDCG change.
    Lambda,
    /// Listwise softmax over each head.
    Softmax,
}

/// `--objective` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ObjectiveArg {
    /// Mobility / non-mobility classification of each pair.
    Pointwise,
    /// RankNet-style pairs of the same source, then Platt scaling.
    Pairwise,
}

impl HyperArgs {
    /// The hyperparameters, checked. The boosted trees' flags are checked even with
    /// `--boost-rounds 0` (no trees), as `--embedding-dim` is with `--embedding-epochs 0`: a
    /// `--boost-learning-rate NaN` or `--boost-subsample 2` is a mistake to report, not to
    /// train past.
    fn checked_params(&self) -> Result<ValidTrainParams, TrainError> {
        BoostParams { rounds: self.boost_rounds.max(1), ..self.boost_params() }.check()?;
        self.params().check()
    }

    fn boost_params(&self) -> BoostParams {
        BoostParams {
            rounds: self.boost_rounds,
            depth: self.boost_depth,
            learning_rate: self.boost_learning_rate,
            subsample: self.boost_subsample,
            objective: match self.boost_objective {
                BoostObjectiveArg::Pointwise => BoostObjective::Pointwise,
                BoostObjectiveArg::Pairwise => BoostObjective::Pairwise,
                BoostObjectiveArg::Lambda => BoostObjective::Lambda,
                BoostObjectiveArg::Softmax => BoostObjective::Softmax,
            },
            ..BoostParams::default()
        }
    }

    fn params(&self) -> TrainParams {
        TrainParams {
            seed: self.seed,
            negatives_per_positive: self.negatives_per_positive,
            hard_negative_share: self.hard_negative_share,
            hard_pool: self.hard_pool,
            alpha: self.alpha,
            rerank_head: self.rerank_head,
            knots: self.knots,
            objective: match self.objective {
                ObjectiveArg::Pointwise => Objective::Pointwise,
                ObjectiveArg::Pairwise => Objective::Pairwise,
            },
            boost: (self.boost_rounds > 0).then(|| self.boost_params()),
            embedding: (self.embedding_epochs > 0).then(|| EmbeddingParams {
                epochs: self.embedding_epochs,
                dim: self.embedding_dim,
                ..EmbeddingParams::default()
            }),
            ..TrainParams::default()
        }
    }
}

/// `passerelle eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Folder laid out like France Travail's ROME export (default: embedded ROME v460).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Number of folds grouped by source occupation (2..=20).
    #[arg(long, default_value_t = EvalParams::default().folds, value_parser = whole_in::<usize>(FOLDS_RANGE))]
    pub folds: usize,
    /// Seed of the fold assignment (0..=18446744073709551615).
    #[arg(long = "fold-seed", default_value_t = EvalParams::default().seed, value_parser = whole::<u64>(0..=u64::MAX))]
    pub fold_seed: u64,
    /// Also write every held-out source's full ranking as CSV
    /// (`source_code,rank,target_code,score`) to check the figures with another scorer.
    #[arg(long)]
    pub rankings: Option<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub hyper: HyperArgs,
}

/// What to rank and how, shared by `recommend` and `score`.
#[derive(Debug, Args)]
pub struct RankingArgs {
    /// Target set: ALL, DIGITAL_INFRASTRUCTURE, or a set of --target-sets.
    #[arg(long, default_value = "ALL")]
    pub target_set: String,
    /// Number of results per profile (1..=100).
    #[arg(long, default_value_t = DEFAULT_TOP_K, value_parser = whole::<u32>(1..=u64::from(MAX_TOP_K)))]
    pub top_k: u32,
    /// Also return the profile's own occupation.
    #[arg(long)]
    pub include_current: bool,
    /// Rank by the model alone, ignoring France Travail's curated list for the occupation.
    #[arg(long)]
    pub model_only: bool,
    /// Most optional (non-core) skills listed in each result's gap, most specific first
    /// (0..=1000; the core gap is always complete, and each result counts them all).
    #[arg(long, default_value_t = DEFAULT_OTHER_SKILLS, value_parser = whole::<u32>(0..=u64::from(MAX_OTHER_SKILLS)))]
    pub max_other_skills: u32,
}

/// The skills profile of a command: an occupation and the items held or removed (`--job-title`,
/// where a command takes it, is separate).
#[derive(Debug, Args, Clone)]
pub struct ProfileItemsArgs {
    /// Current or past occupation, ROME code (e.g. I1315).
    #[arg(long)]
    pub occupation: Option<String>,
    /// An item held (`code_ogr`); repeat for several.
    #[arg(long = "item", allow_hyphen_values = true)]
    pub items: Vec<String>,
    /// An item to remove (`code_ogr`); repeat for several.
    #[arg(long = "remove", allow_hyphen_values = true)]
    pub removed: Vec<String>,
}

impl ProfileItemsArgs {
    /// The profile as an engine query (no job title, region or department).
    pub fn query(&self) -> ProfileQuery {
        ProfileQuery {
            occupation_code: self.occupation.clone(),
            item_codes: self.items.clone(),
            removed_item_codes: self.removed.clone(),
            ..ProfileQuery::default()
        }
    }
}

/// `passerelle recommend`.
#[derive(Debug, Args)]
pub struct RecommendArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub profile: ProfileItemsArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub ranking: RankingArgs,
    /// A job title in words instead of --occupation (e.g. "monteuse FTTH").
    #[arg(long)]
    pub job_title: Option<String>,
    /// INSEE region code for labour-market tension (e.g. 11, 04).
    #[arg(long)]
    pub region: Option<String>,
    /// INSEE department code for labour-market tension (e.g. 75, 2A, 974).
    #[arg(long)]
    pub department: Option<String>,
    /// Weight in [0, 1] of labour-market tension in the ranking (0: off).
    #[arg(long, default_value_t = 0.0)]
    pub tension_weight: f64,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub source: SourceArgs,
}

/// How standard output is named in [`CliError::Write`].
const STDOUT: &str = "<stdout>";

/// Prints `value` as pretty JSON on standard output (`recommend`, `search`, `plan`,
/// `explore`).
///
/// # Errors
/// [`CliError::Write`] on standard output; a broken pipe (the reader stopped early) is a
/// quiet stop ([`CliError::is_closed_stdout`]).
pub(crate) fn print_json(value: &serde_json::Value) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    writeln!(std::io::stdout().lock(), "{text}")
        .map_err(|source| CliError::Write { path: PathBuf::from(STDOUT), source })
}

/// The option of `recommend`, `plan`, `explore` or `search` that sets a request field
/// (`--max-hours` for `constraints.max_total_hours`), with the value's place for a list
/// (`--item (value 3)` for `profile.item_codes[2]`); the field itself when no option sets it.
pub fn option_of(field: &str) -> String {
    let (base, index) = match field.split_once('[') {
        Some((base, rest)) => (base, rest.strip_suffix(']').and_then(|i| i.parse::<usize>().ok())),
        None => (field, None),
    };
    let option = match base {
        "profile.occupation_code" => "--occupation",
        "profile.item_codes" => "--item",
        "profile.removed_item_codes" => "--remove",
        "profile.job_title" => "--job-title",
        "profile.region" => "--region",
        "profile.department" => "--department",
        "top_k" => "--top-k",
        "max_other_skills" => "--max-other-skills",
        "tension_weight" => "--tension-weight",
        "target_set" => "--target-set",
        "target_occupation_code" => "--target",
        "constraints.max_total_hours" => "--max-hours",
        "constraints.max_level" => "--max-level",
        "constraints.held_certifications" => "--held",
        "max_intermediates" => "--max-intermediates",
        "fan_out" => "--fan-out",
        // `search`'s text, named as clap names the argument.
        "query" => "<TEXT>",
        // An empty profile: the options that give one.
        "profile" => "--occupation / --item / --job-title",
        _ => return field.to_string(),
    };
    match index {
        Some(i) => format!("{option} (value {})", i.saturating_add(1)),
        None => option.to_string(),
    }
}

/// `message` (`field: reason`) with its field named by [`option_of`].
pub fn in_cli_terms(field: &str, message: &str) -> String {
    match message.strip_prefix(field).and_then(|rest| rest.strip_prefix(": ")) {
        Some(reason) if !field.is_empty() => format!("{}: {reason}", option_of(field)),
        _ => message.to_string(),
    }
}

fn query_in_cli_terms(err: &QueryError) -> String {
    err.describe(|e| in_cli_terms(e.field(), &e.to_string()))
}

fn plan_in_cli_terms(err: &passerelle_model::training::PlanError) -> String {
    match err {
        passerelle_model::training::PlanError::Query(q) => query_in_cli_terms(q),
        other => in_cli_terms(other.field(), &other.to_string()),
    }
}

/// A command failed; the message names the file, line, field or parameter at fault.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Data or artifact problem.
    #[error(transparent)]
    Data(#[from] DataError),
    /// Invalid recommendation query, its fields named by the options that set them
    /// ([`in_cli_terms`]).
    #[error("invalid query: {}", query_in_cli_terms(.0))]
    Query(#[from] QueryError),
    /// Invalid plan or exploration query, its field named by the option that sets it.
    #[error("invalid query: {}", plan_in_cli_terms(.0))]
    Plan(#[from] passerelle_model::training::PlanError),
    /// Training failed.
    #[error(transparent)]
    Train(#[from] TrainError),
    /// Server failed.
    #[error(transparent)]
    Serve(#[from] ServeError),
    /// Invalid server settings.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The API keys cannot be loaded.
    #[error(transparent)]
    ApiKeys(#[from] ApiKeyError),
    /// The server cannot listen on the address.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Address asked for.
        addr: SocketAddr,
        /// Cause (in use, not an address of this machine…).
        #[source]
        source: std::io::Error,
    },
    /// Writing output failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// File written.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A batch command failed, or completed with refused records.
    #[error(transparent)]
    Batch(#[from] crate::batch::BatchError),
}

impl CliError {
    /// Whether a command stopped because standard output was closed early (`| head`): a
    /// normal stop, exit code 0 and no message. Batch commands (standard output as `-`)
    /// and the commands printing JSON ([`print_json`]) alike.
    pub fn is_closed_stdout(&self) -> bool {
        match self {
            CliError::Batch(e) => e.is_closed_stdout(),
            CliError::Write { path, source } => {
                path == Path::new(STDOUT) && source.kind() == std::io::ErrorKind::BrokenPipe
            }
            _ => false,
        }
    }

    /// The process exit code: [`crate::batch::EXIT_SOME_FAILED`] when a batch completed with
    /// refused records, [`crate::batch::EXIT_INTERRUPTED`] when a signal stopped `score`,
    /// 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Batch(crate::batch::BatchError::SomeFailed { .. }) => crate::batch::EXIT_SOME_FAILED,
            CliError::Batch(crate::batch::BatchError::Interrupted { .. }) => crate::batch::EXIT_INTERRUPTED,
            _ => 1,
        }
    }
}

/// Runs a parsed command line.
///
/// # Errors
/// [`CliError`] with a message for the user.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Serve(args) => crate::serve_cmd::serve_command(args).await,
        Command::Train(args) => tokio::task::block_in_place(|| train_command(&args)),
        Command::Eval(args) => tokio::task::block_in_place(|| eval_command(&args)),
        Command::Recommend(args) => tokio::task::block_in_place(|| recommend_command(args)),
        Command::Plan(args) => tokio::task::block_in_place(|| crate::training_cmd::plan_command(args)),
        Command::Explore(args) => tokio::task::block_in_place(|| crate::training_cmd::explore_command(args)),
        Command::Search(args) => tokio::task::block_in_place(|| crate::search_cmd::search_command(args)),
        Command::Score(args) => Ok(tokio::task::block_in_place(|| crate::batch::score::run(args))?),
        Command::Cohort(args) => Ok(tokio::task::block_in_place(|| crate::batch::cohort::run(args))?),
        Command::GenProfiles(args) => Ok(tokio::task::block_in_place(|| crate::batch::generate::run(args))?),
    }
}

fn load_catalogue(data: Option<&Path>) -> Result<(Catalogue, String), DataError> {
    match data {
        Some(dir) => Ok((Catalogue::load_dir(dir)?, format!("ROME export in {}", dir.display()))),
        None => Ok((embedded::catalogue()?, embedded::DATA_NAME.to_string())),
    }
}

fn train_command(args: &TrainArgs) -> Result<(), CliError> {
    let started = std::time::Instant::now();
    let card_path = args.card.clone().unwrap_or_else(|| args.out.with_extension("card.json"));
    // Refused before a minute of training, not after.
    check_output_dir(&args.out)?;
    check_output_dir(&card_path)?;
    if same_destination(&args.out, &card_path) {
        // The card, written second, would replace the artifact: a minute of training lost.
        return Err(CliError::Write {
            path: card_path,
            source: std::io::Error::other(
                "--card names the artifact's file (--out): the card would replace the artifact; give the card another \
                 path (by default it is the artifact path with `.card.json`)",
            ),
        });
    }
    let (catalogue, data_name) = load_catalogue(args.data.as_deref())?;
    let params = args.hyper.checked_params()?;
    let index = FeatureIndex::new(&catalogue);
    let sources: Vec<_> = catalogue.occupation_ids().collect();
    let (evidence, embedding) = training_evidence(&catalogue, &index, &sources, &params);
    let pairs = training_pairs(&catalogue, &index, &evidence, &sources, &params);
    let n_pos = pairs.labels.iter().filter(|l| **l).count();
    let mut model = fit(&pairs, &params)?;
    fit_reranker(&catalogue, &index, &evidence, &sources, &mut model, &params)?;
    if params.get().embedding.is_some() && embedding.is_none() {
        eprintln!(
            "warning: no learned transition embedding: fewer than 2 occupations of this export have a mobility row, so embedding_log_share and embedding_log_rank are 0"
        );
    }
    model.embedding = embedding;
    eprintln!("trained on {} pairs ({n_pos} mobilities) in {:.1?}", pairs.labels.len(), started.elapsed());
    let evaluation = if args.no_eval {
        None
    } else {
        let report = evaluate(&catalogue, &index, &params, &EvalParams::default())?;
        eprint!("{}", format_report(&report));
        // The probabilities served are calibrated on the protocol's out-of-fold predictions.
        model.calibration = report.calibration.clone();
        Some(report)
    };
    let mut artifact = ModelArtifact {
        format_version: model.format_version(),
        model_kind: match &model.rerank {
            Some(r) if r.trees.is_some() => {
                "linfa-logistic cascade (2 stages), reranker corrected by linfa-trees boosted trees"
            }
            Some(_) => "linfa-logistic cascade (2 stages)",
            None => "linfa-logistic",
        }
        .to_string(),
        data: DataVersion {
            name: data_name,
            checksum: catalogue.checksum.clone(),
            occupations: catalogue.occupations.len(),
            mobilities: catalogue.mobilities.len(),
        },
        params: *params.get(),
        training_pairs: (n_pos, pairs.labels.len() - n_pos),
        model,
        evaluation,
        checksum: String::new(),
    };
    let json = artifact.to_json().map_err(|e| DataError::Artifact { reason: e.to_string() })?;
    write(&args.out, &(json + "\n"))?;
    write(&card_path, &(model_card(&artifact) + "\n"))?;
    eprintln!(
        "wrote {} and {} (checksum {}) in {:.1?}",
        args.out.display(),
        card_path.display(),
        artifact.checksum,
        started.elapsed()
    );
    Ok(())
}

/// The model card: what the model is, what it was trained on, how well it ranks.
pub fn model_card(a: &ModelArtifact) -> String {
    let card = serde_json::json!({
        "model": "Passerelle transition model",
        "model_kind": a.model_kind,
        "format_version": a.format_version,
        "checksum": a.checksum,
        "data": a.data,
        "attribution": embedded::ROME_ATTRIBUTION,
        "labels": "positives: France Travail curated mobilities (unix_rubrique_mobilite); negatives: sampled non-mobilities of the same source",
        "features": FEATURE_NAMES.as_slice(),
        "hyperparameters": a.params,
        "training_pairs": { "mobilities": a.training_pairs.0, "sampled_non_mobilities": a.training_pairs.1 },
        "weights": a.model.feature_names.iter().zip(&a.model.weights).map(|(n, w)| (n.clone(), *w)).collect::<std::collections::BTreeMap<_, _>>(),
        "reranker": a.model.rerank.as_ref().map(|r| serde_json::json!({
            "head": r.head,
            "trained_on": "the head (highest first-stage scores) of every source's ranking",
            "weights": r.model.feature_names.iter().zip(&r.model.weights).map(|(n, w)| (n.clone(), *w)).collect::<std::collections::BTreeMap<_, _>>(),
            "boosted_trees": r.trees.as_ref().map(|t| serde_json::json!({
                "trees": t.trees.len(),
                "nodes": t.trees.iter().map(|tree| tree.nodes.len()).sum::<usize>(),
                "inputs": format!("the {} features, the first-stage logit and the linear reranker's logit", FEATURE_NAMES.len()),
                "trained_on": "heads of the training sources computed with the mobility rows of the other inner folds only (5 folds)",
            })),
        })),
        "embedding": a.model.embedding.as_ref().map(|e| serde_json::json!({
            "what": "learned transition embedding behind embedding_log_share and embedding_log_rank: logit(P, T) = (x_P U) · (x_T V) + b_T over idf-weighted, L2-normalised item vectors, fitted by Adam on the softmax cross-entropy of the curated rows",
            "parameters": e.params,
            "input_items": e.items.len(),
            "folds": e.folds.len(),
            "trained_on": "one embedding per inner fold of the sources, each on the other folds' rows; a profile uses the one that did not see its anchor's row",
            "storage": "IEEE half precision (f16), little-endian, base64",
        })),
        "evaluation": a.evaluation,
        "probability_basis": crate::grpc::convert::probability_basis(a.model.calibration.is_some()),
    });
    serde_json::to_string_pretty(&card).unwrap_or_default()
}

/// The directory `path` would be written in (`.` for a bare file name).
fn output_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Whether writing `a` and `b` would write the same file: the same existing file by any name
/// (path, symbolic or hard link), or the same name in the same directory (a file not
/// written yet: `m.json` and `./m.json`).
fn same_destination(a: &Path, b: &Path) -> bool {
    if same_file::is_same_file(a, b).unwrap_or(false) {
        return true;
    }
    let resolved = |p: &Path| Some(std::fs::canonicalize(output_dir(p)).ok()?.join(p.file_name()?));
    matches!((resolved(a), resolved(b)), (Some(x), Some(y)) if x == y)
}

/// [`CliError::Write`] unless `path`'s directory exists, or if `path` is a directory.
fn check_output_dir(path: &Path) -> Result<(), CliError> {
    let dir = output_dir(path);
    let problem = if !dir.is_dir() {
        format!("directory {} does not exist", dir.display())
    } else if path.is_dir() {
        "it is a directory".to_string()
    } else {
        return Ok(());
    };
    Err(CliError::Write { path: path.to_path_buf(), source: std::io::Error::other(problem) })
}

/// Writes `text` to a temporary file beside `path`, then renames it over `path`: a server
/// reloading `path` sees the old file or the new one, never half of one. The temporary file
/// (`.NAME.XXXXXX.tmp`, from [`tempfile`]) is removed if any step fails.
///
/// The file written has the permissions of the regular file it replaces (the temporary
/// file is created owner-only, then given them before `text` is written); a new file has
/// those [`std::fs::write`] would give it (on unix, `0o666` less the process's umask: the
/// temporary file is opened with that mode, so the kernel applies the umask). A `path`
/// that exists as anything but a regular file (`/dev/null`, a pipe, a symbolic link) is
/// written in place.
fn write(path: &Path, text: &str) -> Result<(), CliError> {
    let error = |source| CliError::Write { path: path.to_path_buf(), source };
    let replaced = match std::fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_file() => return std::fs::write(path, text).map_err(error),
        Ok(meta) => Some(meta.permissions()),
        Err(_) => None,
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // `make_in` with a plain open, not `tempfile_in`: errors stay the system's own (tempfile
    // appends the temporary path to its own), and a new file gets std::fs::write's mode.
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .make_in(output_dir(path), |tmp| create_new(tmp, replaced.is_some()))
        .map_err(error)?;
    if let Some(permissions) = replaced {
        tmp.as_file().set_permissions(permissions).map_err(error)?;
    }
    tmp.as_file_mut().write_all(text.as_bytes()).map_err(error)?;
    // On an error, dropping the temporary file (in `PersistError`) removes it.
    tmp.persist(path).map(drop).map_err(|e| error(e.error))
}

/// Creates the file `path`, which must not exist, for writing: owner-only (`0o600` on unix)
/// when `private`, otherwise with the mode [`std::fs::write`] uses (`0o666` less the umask).
fn create_new(path: &Path, private: bool) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    options.open(path)
}

fn eval_command(args: &EvalArgs) -> Result<(), CliError> {
    let (catalogue, _) = load_catalogue(args.data.as_deref())?;
    let params = args.hyper.checked_params()?;
    let index = FeatureIndex::new(&catalogue);
    let eval = EvalParams { folds: args.folds, seed: args.fold_seed, ..EvalParams::default() };
    let report = match &args.rankings {
        None => evaluate(&catalogue, &index, &params, &eval)?,
        Some(path) => {
            let file = std::fs::File::create(path).map_err(|source| CliError::Write { path: path.clone(), source })?;
            let mut out = std::io::BufWriter::new(file);
            let mut failed: Option<std::io::Error> = writeln!(out, "source_code,rank,target_code,score").err();
            let mut write_ranking = |source: OccupationId, ranking: &[(OccupationId, f64)]| {
                if failed.is_some() {
                    return;
                }
                let mut sorted = ranking.to_vec();
                sorted.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                let code = |id: OccupationId| catalogue.occupation(id).code.as_str();
                for (rank, (target, score)) in sorted.iter().enumerate() {
                    if let Err(e) = writeln!(out, "{},{},{},{score}", code(source), rank + 1, code(*target)) {
                        failed = Some(e);
                        return;
                    }
                }
            };
            let report = evaluate_with(&catalogue, &index, &params, &eval, &mut write_ranking)?;
            if let Err(e) = out.flush() {
                failed.get_or_insert(e);
            }
            if let Some(source) = failed {
                return Err(CliError::Write { path: path.clone(), source });
            }
            report
        }
    };
    print!("{}", format_report(&report));
    Ok(())
}

/// A plain-text table of an evaluation report, with the reliability table.
pub fn format_report(r: &EvalReport) -> String {
    use std::fmt::Write as _;
    let cell = |e: passerelle_model::eval::Estimate| format!("{:.3} [{:.3}, {:.3}]", e.mean, e.low, e.high);
    let k = r.params.k;
    let mut out = format!(
        "{}\n{} held-out sources, {} candidates each; mean [95% bootstrap interval]\n{:<24} {:<22} {:<22} {:<22} {:<22}\n",
        r.protocol,
        r.sources,
        r.candidates_per_source,
        "system",
        format!("recall@{k}"),
        "MRR",
        format!("nDCG@{k}"),
        "ROC-AUC",
    );
    for (name, m) in [("model (linfa-logistic)", &r.model), ("IDF cosine baseline", &r.baseline_cosine)] {
        let _ = writeln!(
            out,
            "{name:<24} {:<22} {:<22} {:<22} {:<22}",
            cell(m.recall_at_k),
            cell(m.mrr),
            cell(m.ndcg_at_k),
            cell(m.roc_auc)
        );
    }
    for (title, table) in [
        ("uncalibrated", &r.reliability),
        ("after isotonic calibration on these out-of-fold predictions (in-sample)", &r.reliability_calibrated),
    ] {
        let _ = writeln!(out, "reliability of the model's probability on all held-out pairs, {title}:");
        let _ = writeln!(out, "{:<12} {:>10} {:>15} {:>10}", "probability", "pairs", "mean predicted", "observed");
        write_bins(&mut out, table);
    }
    out
}

fn write_bins(out: &mut String, table: &[passerelle_model::eval::ReliabilityBin]) {
    use std::fmt::Write as _;
    for b in table {
        let _ = writeln!(
            out,
            "{:<12} {:>10} {:>15.4} {:>10.4}",
            format!("{:.1}-{:.1}", b.from, b.to),
            b.pairs,
            b.mean_predicted,
            b.observed
        );
    }
}

fn recommend_command(args: RecommendArgs) -> Result<(), CliError> {
    let engine = EngineSource::from(args.source).load()?;
    let query = RecommendQuery {
        profile: ProfileQuery {
            job_title: args.job_title,
            region: args.region,
            department: args.department,
            ..args.profile.query()
        },
        top_k: Some(args.ranking.top_k),
        target_set: args.ranking.target_set,
        include_current_occupation: args.ranking.include_current,
        model_only: args.ranking.model_only,
        tension_weight: args.tension_weight,
        max_other_skills: Some(args.ranking.max_other_skills),
    };
    let answer = engine.recommend(&query)?;
    let out = serde_json::json!({
        "answer": answer,
        "model": engine.model_info(),
        "data_source": embedded::ROME_ATTRIBUTION,
        "probability_basis": crate::grpc::convert::probability_basis(engine.model_info().calibrated),
    });
    print_json(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh folder `passerelle-{name}-XXXXXX`, removed when the guard is dropped.
    fn scratch(name: &str) -> tempfile::TempDir {
        tempfile::Builder::new().prefix(&format!("passerelle-{name}-")).tempdir().unwrap()
    }

    /// The names of the entries of `dir`, sorted.
    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort_unstable();
        names
    }

    #[test]
    fn write_replaces_a_file_whole_and_leaves_no_temporary_file() {
        let tmp = scratch("write");
        let dir = tmp.path();
        let path = dir.join("m.json");
        std::fs::write(&path, "old, longer than the new text").unwrap();
        write(&path, "new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(names(dir), ["m.json"]);
        // Into a directory that does not exist: the error names the file and is the system's
        // own (not tempfile's, which names the temporary file); nothing is created.
        let err = write(&dir.join("no/m.json"), "x").unwrap_err().to_string();
        assert!(err.starts_with(&format!("cannot write {}: ", dir.join("no/m.json").display())), "{err}");
        assert!(!err.contains(".tmp"), "{err}");
        #[cfg(unix)]
        assert!(err.ends_with("(os error 2)"), "{err}");
        assert_eq!(names(dir), ["m.json"]);
        tmp.close().unwrap();
    }

    /// A rename that fails after the temporary file was written (`m.json/`: not a
    /// directory) keeps the old file and removes the temporary one.
    #[cfg(unix)]
    #[test]
    fn a_failed_replacement_keeps_the_old_file_and_leaves_no_temporary_file() {
        let tmp = scratch("write");
        let dir = tmp.path();
        let path = dir.join("m.json");
        std::fs::write(&path, "old").unwrap();
        for target in [dir.join("m.json/"), dir.join("new.json/")] {
            let err = write(&target, "new").unwrap_err().to_string();
            assert!(err.starts_with(&format!("cannot write {}: ", target.display())), "{err}");
            assert!(err.ends_with("(os error 20)"), "ENOTDIR from the rename: {err}");
            assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
            assert_eq!(names(dir), ["m.json"], "after writing {}", target.display());
        }
    }

    /// The mode bits of `path`.
    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    /// A replaced artifact keeps its permissions; the temporary file (created `0o600`) used
    /// to give every replaced file its own mode instead.
    #[cfg(unix)]
    #[test]
    fn write_keeps_the_permissions_of_the_file_it_replaces() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = scratch("write");
        let dir = tmp.path();
        let mut written = Vec::new();
        for old in [0o600, 0o640, 0o755, 0o444] {
            let name = format!("m-{old:o}.json");
            let path = dir.join(&name);
            std::fs::write(&path, "old, longer than the new text").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(old)).unwrap();
            write(&path, "new").unwrap();
            assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
            assert_eq!(mode(&path), old, "{old:o} became {:o}", mode(&path));
            written.push(name);
        }
        written.sort_unstable();
        assert_eq!(names(dir), written);
    }

    /// A new artifact gets the mode `std::fs::write` gives (`0o666` less the umask: `0o644`
    /// with the usual umask `022`), not the temporary file's `0o600`.
    #[cfg(unix)]
    #[test]
    fn a_new_file_gets_the_permissions_std_fs_write_gives() {
        let tmp = scratch("write");
        let dir = tmp.path();
        let reference = dir.join("reference.json");
        std::fs::write(&reference, "x").unwrap();
        let path = dir.join("m.json");
        write(&path, "new").unwrap();
        assert_eq!(mode(&path), mode(&reference), "{:o} vs {:o}", mode(&path), mode(&reference));
        #[cfg(target_os = "linux")]
        if let Some(umask) = std::fs::read_to_string("/proc/self/status")
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("Umask:"))
            .map(|u| u32::from_str_radix(u.trim(), 8).unwrap())
        {
            assert_eq!(mode(&path), 0o666 & !umask, "umask {umask:03o}");
        }
        assert_eq!(names(dir), ["m.json", "reference.json"]);
    }

    #[cfg(unix)]
    #[test]
    fn write_to_a_device_writes_in_place() {
        // A rename over /dev/null would replace the device with a regular file.
        use std::os::unix::fs::FileTypeExt;
        write(Path::new("/dev/null"), "artifact").unwrap();
        assert!(std::fs::metadata("/dev/null").unwrap().file_type().is_char_device());
    }

    #[test]
    fn train_output_checks_name_the_problem() {
        let tmp = scratch("missing");
        let missing = tmp.path().join("no-such-folder");
        let err = check_output_dir(&missing.join("m.json")).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "cannot write {}: directory {} does not exist",
                missing.join("m.json").display(),
                missing.display()
            )
        );
        assert_eq!(
            check_output_dir(tmp.path()).unwrap_err().to_string(),
            format!("cannot write {}: it is a directory", tmp.path().display())
        );
        assert!(
            check_output_dir(Path::new("bare-name.json")).is_ok(),
            "a bare name is written in the current directory"
        );
    }

    /// The positional arguments of every subcommand, as `subcommand <id>`.
    fn positionals(command: &clap::Command, path: &str, out: &mut Vec<String>) {
        for arg in command.get_arguments().filter(|a| a.is_positional()) {
            out.push(format!("{path} <{}>", arg.get_id()));
        }
        for sub in command.get_subcommands() {
            positionals(sub, sub.get_name(), out);
        }
    }

    #[test]
    fn every_argument_taking_a_value_accepts_a_negative_number_positionals_included() {
        let command = with_negative_values(Cli::command());
        let mut found = Vec::new();
        positionals(&command, "passerelle", &mut found);
        // The one positional argument: a text, for which `-5` is a text.
        assert_eq!(found, ["search <text>"]);
        let search = command.find_subcommand("search").expect("search");
        let cli = Cli::from_arg_matches(&command.clone().try_get_matches_from(["passerelle", "search", "-5"]).unwrap())
            .unwrap();
        let Command::Search(args) = cli.command else { panic!("search") };
        assert_eq!((args.text.as_str(), args.top_k), ("-5", passerelle_model::search::DEFAULT_SEARCH_TOP_K));
        assert!(search
            .get_arguments()
            .filter(|a| a.get_action().takes_values())
            .all(|a| a.is_allow_negative_numbers_set()));
        // A numeric option still names itself and its range.
        let err = command.try_get_matches_from(["passerelle", "search", "fibre", "--top-k", "-5"]).unwrap_err();
        assert!(err.to_string().contains("invalid value '-5' for '--top-k <TOP_K>': -5 is not in 1..=50"), "{err}");
    }

    /// A search text may start with '-' (`search -5G`, where clap alone said "unexpected
    /// argument '-5' found"); the command's flags stay flags before and after the text.
    #[test]
    fn a_search_text_may_start_with_a_dash_and_flags_stay_flags() {
        let parse = |argv: &[&str]| {
            let argv = ["passerelle", "search"].iter().chain(argv);
            let matches = with_negative_values(Cli::command()).try_get_matches_from(argv)?;
            let Command::Search(args) = Cli::from_arg_matches(&matches)?.command else { panic!("search") };
            Ok::<_, clap::Error>((args.text, args.skills, args.top_k))
        };
        let top = passerelle_model::search::DEFAULT_SEARCH_TOP_K;
        for (argv, (text, skills, top_k)) in [
            (&["-5G"][..], ("-5G", false, top)),
            (&["-5G", "--top-k", "3"], ("-5G", false, 3)),
            (&["--top-k", "3", "-5G"], ("-5G", false, 3)),
            (&["-5G", "--skills"], ("-5G", true, top)),
            (&["--skills", "-5G", "--top-k", "2"], ("-5G", true, 2)),
            (&["--", "-5G"], ("-5G", false, top)),
            (&["-5"], ("-5", false, top)),
            (&["-fibre optique"], ("-fibre optique", false, top)),
            (&["fibre", "--top-k", "3"], ("fibre", false, 3)),
        ] {
            let parsed = parse(argv).map_err(|e| e.to_string());
            assert_eq!(parsed, Ok((text.to_string(), skills, top_k)), "{argv:?}");
        }
        // After the text, an unknown flag is refused as before, naming itself.
        for (argv, unexpected) in
            [(&["fibre", "--topk", "3"][..], "'--topk'"), (&["-5G", "-x"], "'-x'"), (&["-5G", "fibre"], "'fibre'")]
        {
            let err = parse(argv).expect_err("refused").to_string();
            assert!(err.contains(&format!("unexpected argument {unexpected} found")), "{argv:?}: {err}");
        }
        // A misspelled flag before the text is not searched: a text starting with '--' is
        // refused, naming it.
        for argv in [&["--skils"][..], &["--skils", "--top-k", "2"], &["--", "--skils"]] {
            let err = parse(argv).expect_err("refused").to_string();
            assert!(
                err.contains(&format!(
                    "invalid value '{}' for '<TEXT>': a text starting with '--' is taken for a misspelled option",
                    argv.iter().find(|a| a.len() > 2).unwrap()
                )),
                "{argv:?}: {err}"
            );
        }
        // With a value after it, clap refuses the extra word first.
        let err = parse(&["--topk", "3", "fibre"]).expect_err("refused").to_string();
        assert!(err.contains("unexpected argument '3' found"), "{err}");
        assert_eq!(parse(&["-h"]).expect_err("help").kind(), clap::error::ErrorKind::DisplayHelp);
    }

    /// The embedding's flags name themselves and their range, `--embedding-dim` even when
    /// `--embedding-epochs 0` turns the embedding off (it used to be ignored silently).
    #[test]
    fn embedding_flags_are_checked_by_name() {
        let parse = |extra: &[&str]| {
            let mut argv = vec!["passerelle", "train", "--no-eval"];
            argv.extend_from_slice(extra);
            with_negative_values(Cli::command()).try_get_matches_from(argv)
        };
        for (extra, want) in [
            (
                &["--embedding-dim", "0"][..],
                "invalid value '0' for '--embedding-dim <EMBEDDING_DIM>': 0 is not in 1..=256",
            ),
            (
                &["--embedding-dim", "257"][..],
                "invalid value '257' for '--embedding-dim <EMBEDDING_DIM>': 257 is not in 1..=256",
            ),
            (
                &["--embedding-epochs", "0", "--embedding-dim", "0"][..],
                "invalid value '0' for '--embedding-dim <EMBEDDING_DIM>': 0 is not in 1..=256",
            ),
            (
                &["--embedding-epochs", "10001"][..],
                "invalid value '10001' for '--embedding-epochs <EMBEDDING_EPOCHS>': 10001 is not in 0..=10000",
            ),
        ] {
            let err = parse(extra).expect_err("refused");
            assert!(err.to_string().contains(want), "{extra:?}: {err}");
        }
        let matches = parse(&["--embedding-epochs", "0", "--embedding-dim", "1"]).expect("valid");
        let Command::Train(args) = Cli::from_arg_matches(&matches).expect("train").command else { panic!("train") };
        assert_eq!(args.hyper.params().embedding, None, "0 steps: no embedding");
        let matches = parse(&["--embedding-dim", "1"]).expect("valid");
        let Command::Train(args) = Cli::from_arg_matches(&matches).expect("train").command else { panic!("train") };
        assert_eq!(args.hyper.params().embedding.map(|e| (e.dim, e.epochs)), Some((1, 200)));
    }

    /// Every whole-number flag of `train` and `eval` refuses `-1` naming its range (they were
    /// parsed as unsigned: "invalid digit found in string"), the range the model checks.
    #[test]
    fn train_and_eval_numbers_refuse_a_negative_naming_the_model_s_range() {
        use passerelle_model::{boost, eval, transition};
        let range = |r: std::ops::RangeInclusive<usize>| format!("{}..={}", r.start(), r.end());
        let u64_range = format!("0..={}", u64::MAX);
        for (command, flag, want) in [
            ("train", "--seed", u64_range.clone()),
            ("train", "--hard-pool", range(transition::HARD_POOL_RANGE)),
            ("train", "--rerank-head", range(transition::RERANK_HEAD_RANGE)),
            ("train", "--knots", range(transition::KNOTS_RANGE)),
            ("train", "--boost-rounds", range(0..=boost::MAX_TREES)),
            ("train", "--boost-depth", range(boost::DEPTH_RANGE)),
            ("train", "--embedding-epochs", "0..=10000".to_string()),
            ("train", "--embedding-dim", "1..=256".to_string()),
            ("eval", "--folds", range(eval::FOLDS_RANGE)),
            ("eval", "--fold-seed", u64_range.clone()),
        ] {
            let err = with_negative_values(Cli::command())
                .try_get_matches_from(["passerelle", command, flag, "-1"])
                .expect_err("refused")
                .to_string();
            assert!(err.contains(&format!("invalid value '-1' for '{flag} <")), "{err}");
            assert!(err.contains(&format!(": -1 is not in {want}\n")), "{command} {flag}: {err}");
        }
    }

    /// No option is refused with clap's anonymous "invalid UTF-8 was detected in one or more
    /// arguments": a text, number or address names itself, a path takes the bytes.
    #[cfg(unix)]
    #[test]
    fn a_value_that_is_not_utf8_is_refused_naming_its_option_or_taken_as_a_path() {
        use std::ffi::OsString;
        use std::os::unix::ffi::OsStringExt;
        let command = with_named_utf8_errors(with_negative_values(Cli::command()));
        let bad = OsString::from_vec(b"x\xff".to_vec());
        let mut checked = 0;
        for sub in command.get_subcommands() {
            for arg in sub.get_arguments().filter(|a| a.get_action().takes_values()) {
                let mut argv: Vec<OsString> = vec!["passerelle".into(), sub.get_name().into()];
                if let Some(long) = arg.get_long() {
                    argv.push(format!("--{long}").into());
                }
                argv.push(bad.clone());
                let what = format!("{} {}", sub.get_name(), arg.get_id());
                let path = arg.get_value_parser().type_id() == clap::builder::ValueParser::path_buf().type_id();
                match command.clone().try_get_matches_from(argv) {
                    Err(err) => {
                        let err = err.to_string();
                        assert!(!err.contains("invalid UTF-8 was detected"), "{what}: {err}");
                        if !path {
                            assert!(err.contains("invalid value 'x\u{fffd}' for '"), "{what}: {err}");
                        }
                    }
                    Ok(_) => assert!(path, "{what} accepted bytes that are not UTF-8"),
                }
                checked += 1;
            }
        }
        assert!(checked > 50, "{checked}");
        // A path keeps its bytes.
        let argv = ["passerelle", "train", "--no-eval", "--out"].map(OsString::from).into_iter().chain([bad.clone()]);
        let cli = Cli::from_arg_matches(&command.clone().try_get_matches_from(argv).unwrap()).unwrap();
        let Command::Train(args) = cli.command else { panic!("train") };
        assert_eq!(args.out.into_os_string(), bad);
    }

    /// `serve --addr` and `--metrics-addr` say what an address is (IP and port) and that host
    /// names are not resolved, instead of the standard library's `invalid socket address
    /// syntax`.
    #[test]
    fn listen_addresses_say_what_is_expected() {
        let parse = |flag: &str, value: &str| {
            with_named_utf8_errors(with_negative_values(Cli::command())).try_get_matches_from([
                "passerelle",
                "serve",
                flag,
                value,
            ])
        };
        let hint = "expected an IP address and a port, such as 127.0.0.1:50051, 0.0.0.0:50051 or [::1]:50051 \
                    (host names such as localhost are not resolved)";
        for (flag, value, placeholder) in [
            ("--addr", "localhost:50051", "<ADDR>"),
            ("--addr", "127.0.0.1", "<ADDR>"),
            ("--addr", "127.0.0.1:99999", "<ADDR>"),
            ("--metrics-addr", "", "<ADDR>"),
        ] {
            let err = parse(flag, value).expect_err("refused").to_string();
            let want = format!("error: invalid value '{value}' for '{flag} {placeholder}': {hint}\n");
            assert!(err.starts_with(&want), "{flag} {value}: {err}");
        }
        let matches = parse("--addr", "[::1]:50051").expect("valid");
        let Command::Serve(args) = Cli::from_arg_matches(&matches).expect("serve").command else { panic!("serve") };
        assert_eq!(args.addr, Some(std::net::SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, 50051))));
    }
}
