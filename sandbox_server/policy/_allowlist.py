"""Which functions a query may call: one allowlist of DuckDB function names.

The same names are checked twice: against sqlglot's parse tree (typed nodes such as ``exp.Sum``
are allowed when one of their SQL names is listed, unknown functions by their own name) and
against DuckDB's own parse tree of the SQL that will run. Anything not listed is refused —
``getenv``, ``current_setting``, ``read_text``, ``duckdb_*``, ``pragma_*``, ``glob``, ... never
appear because nothing here could reach outside the data.
"""

from __future__ import annotations

from sqlglot import exp


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


AGGREGATES = _words(
    """
    count count_star sum avg mean min max median mode quantile quantile_cont quantile_disc
    percentile_cont percentile_disc approx_quantile approx_count_distinct stddev stddev_samp
    stddev_pop variance var_samp var_pop corr covar_pop covar_samp regr_slope regr_intercept
    regr_r2 regr_count arg_max arg_min max_by min_by argmax argmin first last any_value
    bool_and bool_or string_agg listagg group_concat list array_agg count_if countif product
    entropy kurtosis skewness histogram fsum favg geomean sumkahan
    """
)

WINDOW_FUNCTIONS = _words(
    """
    row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value last_value
    nth_value
    """
)

SCALAR_FUNCTIONS = _words(
    """
    abs ceil ceiling floor round round_even trunc sign sqrt cbrt exp ln log log10 log2 pow power
    mod greatest least pi degrees radians sin cos tan asin acos atan atan2 isnan isinf isfinite
    even gcd lcm
    lower upper lcase ucase length len char_length character_length strlen substr substring left
    right trim ltrim rtrim replace concat concat_ws contains starts_with ends_with prefix suffix
    position strpos instr split_part string_split str_split regexp_matches regexp_replace
    regexp_extract regexp_full_match lpad rpad repeat reverse ascii chr levenshtein
    jaro_winkler_similarity translate strip_accents format printf md5 hash
    date_trunc datetrunc date_part datepart extract date_diff datediff date_sub datesub date_add
    strftime strptime make_date make_timestamp make_time to_timestamp epoch epoch_ms year month
    day hour minute second millisecond week weekofyear quarter dayofweek dayofyear dayofmonth
    isodow isoyear yearweek dayname monthname last_day age current_date today
    current_timestamp time_bucket to_days to_hours to_minutes to_seconds to_weeks to_months
    to_years century decade
    coalesce nullif ifnull if iif cast try_cast typeof
    unnest list_value list_contains array_contains array_length
    """
)

# Row generators: allowed only with small literal bounds (``rules.check_generators``).
GENERATORS = frozenset({"range", "generate_series"})
# String builders whose size is an argument; bounded like generators.
SIZED_STRING_FUNCTIONS = frozenset({"repeat", "lpad", "rpad"})

FUNCTIONS: frozenset[str] = AGGREGATES | WINDOW_FUNCTIONS | SCALAR_FUNCTIONS | GENERATORS

# sqlglot node types whose SQL name differs from the DuckDB name listed above (sqlglot
# normalises dialects to its own vocabulary: ``strftime`` parses as ``TimeToStr``).
_RENAMED_NODES: tuple[type[exp.Func], ...] = (
    exp.And,  # sqlglot models AND / OR / COLLATE / ~* as functions too
    exp.Or,
    exp.Collate,
    exp.RegexpILike,
    exp.Array,  # [1, 2] list literals
    exp.Case,
    exp.Cast,
    exp.TryCast,
    exp.Exists,
    exp.Explode,  # unnest in a select list
    exp.Unnest,
    exp.Extract,
    exp.GroupConcat,  # string_agg
    exp.LogicalAnd,
    exp.LogicalOr,
    exp.Pad,  # lpad / rpad
    exp.RegexpLike,  # regexp_matches
    exp.Split,  # string_split
    exp.StrPosition,  # strpos / position / instr
    exp.StrToTime,  # strptime
    exp.Struct,  # {'a': 1} struct literals
    exp.TimeToStr,  # strftime
    exp.TimeToUnix,  # epoch
    exp.TimestampTrunc,  # date_trunc on timestamps
    exp.UnixToTime,  # to_timestamp
    exp.DateFromParts,  # make_date
    exp.ApproxDistinct,
    exp.DateBin,  # time_bucket
    exp.CurrentDate,
    exp.CurrentTimestamp,
)


def _allowed_node_types() -> frozenset[type[exp.Func]]:
    named = {
        cls
        for cls in exp.ALL_FUNCTIONS
        if cls is not exp.Anonymous and {n.lower() for n in cls.sql_names()} & FUNCTIONS
    }
    return frozenset(named | set(_RENAMED_NODES))


ALLOWED_NODE_TYPES = _allowed_node_types()


def function_name(node: exp.Func) -> str:
    """The name a person would recognise: the written name of an unknown function, else sqlglot's."""
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    return str(node.sql_name()).lower()


def is_allowed(node: exp.Func) -> bool:
    if isinstance(node, exp.Anonymous):
        return function_name(node) in FUNCTIONS
    return type(node) in ALLOWED_NODE_TYPES


# Names DuckDB's own parse tree uses for what sqlglot emitted from allowed nodes, beyond FUNCTIONS:
# ``count(*)`` is ``count_star``, ``extract`` is ``date_part``, list/struct literals and
# subscripts are functions too. Operators (``+``, ``||``, ``~~``) are recognised by shape.
DUCKDB_INTERNAL_FUNCTIONS = frozenset(
    {
        "count_star",
        "date_part",
        "list_value",
        "struct_pack",
        "array_extract",
        "array_slice",
        "row",
        "like_escape",
        "not_like_escape",
        "ilike_escape",
        "not_ilike_escape",
    }
)


def duckdb_allows(name: str) -> bool:
    lowered = name.lower()
    if lowered in FUNCTIONS or lowered in DUCKDB_INTERNAL_FUNCTIONS:
        return True
    # Operators are symbols only (``+``, ``//``, ``~~*``, ``!~~``); no name can hide in them.
    return bool(lowered) and not any(c.isalnum() or c == "_" for c in lowered)
