"""A small dbt project holding, at once, each shape that public dbt projects broke synthohive with (issue #12).

Raw tables (created with SQL, declared as dbt sources `music`, `gh` and `clinic` in schema `raw_pub`):

- `styles(style_id, name)`: a lookup of 15 labels with NO accepted_values; the model `rock_tracks` keeps the
  tracks whose style `where s.name = 'Rock'`, and the singular test `rock_tracks_not_empty` fails when that
  model is empty.
- `tracks(track_id, genre_id, style_id, category_id, milliseconds, length_category)`: no declared key (only
  not_null); `length_category` is Short/Medium/Long (accepted_values); `genre_id` refers to the seed `genres`
  through a relationships test on a model; `style_id` and `category_id` are undeclared references.
- `repos(id, topic, stars)` with UUID ids, `issues(id, repo_id, state)` with integer ids, `labels(issue_id,
  name)` with issue labels (bug, enhancement, good first issue, ...) and no declarations at all: no key
  declared anywhere (only not_null); the model `issue_labels` joins all three.
- `patients("PATIENT", phone, password, age)`: an upper-case UUID key the model `stg_patients` renames to
  `patient_id` (unique, not_null), 10-digit phone strings it casts `phone::bigint`, a hex sha256 `password`
  (a secret: never written back).
- `visits(visit_id, patient_ref)`: `patient_ref` is a patient's UUID or '0'; `stg_visits` has
  `case when patient_ref = '0' then null else patient_ref end as patient_id`, with a relationships test to
  `stg_patients`.

Seeds (each with tests of its own):

- `genres(genre_id, name)`: 25 labels, `name` with accepted_values listing them; also declared as the source
  `catalog.genres` (the same relation), which the model `track_genres` reads.
- `categories(category_id, name)`: `name` declared `meta: {pii: false}`.
- `sessions(session_uuid, token, device)`: a UUID column and a column of mostly unique tokens (free text),
  no declared key.

`build_published(root, target, env)` writes the project, creates and fills the raw tables, runs `dbt deps` +
`dbt build` on the real data, and returns the project, the outcome of every real test, and the real frames.
"""

from __future__ import annotations

import hashlib
import string
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from synthohive_dbt.dbt import DbtProject
from tests.helpers.keyless_project import GH_TABLES
from tests.helpers.messy_project import REPO, SOURCE_MACRO, load_raw
from tests.helpers.profiles import profiles_yml

RAW = "raw_pub"
GENRES = ["Alternative", "Blues", "Classical", "Country", "Dance", "Electronic", "Folk", "Funk", "Gospel",
          "Hip Hop", "House", "Indie", "Jazz", "Latin", "Metal", "Opera", "Pop", "Punk", "R&B", "Reggae", "Rock",
          "Soul", "Soundtrack", "Techno", "World"]
STYLES = ["Rock", "Jazz", "Pop", "Blues", "Folk", "Metal", "Punk", "Soul", "Funk", "Reggae", "Disco", "Ambient",
          "Techno", "House", "Gospel"]
CATEGORIES = ["Comedy", "Education", "History", "News", "Science", "Sports", "Fiction", "Business", "Health",
              "Technology", "Travel", "Kids & Family"]
LABELS = ["bug", "enhancement", "good first issue", "question", "documentation", "help wanted", "wontfix",
          "duplicate"]
TOPICS = ["data", "web", "cli", "ml", "docs", "infra", "sdk", "ui"]

PROJECT = """name: published
version: "1.0"
config-version: 2
profile: published
models:
  published:
    +materialized: table
seeds:
  published:
    sessions:
      +column_types: {session_uuid: varchar(36), token: varchar(40), device: varchar(10)}
"""
SOURCES = f"""version: 2
sources:
  - name: music
    schema: {RAW}
    tables:
      - name: styles
        columns:
          - name: style_id
            data_tests: [not_null]
          - name: name
            data_tests: [not_null]
      - name: tracks
        columns:
          - name: track_id
            data_tests: [not_null]
          - name: length_category
            data_tests:
              - accepted_values:
                  arguments: {{values: [Short, Medium, Long]}}
  - name: gh
    schema: {RAW}
    tables:
{GH_TABLES}      - name: labels
  - name: clinic
    schema: {RAW}
    tables:
      - name: patients
        columns:
          - name: PATIENT
            quote: true
            data_tests: [not_null]
          - name: phone
            data_tests: [not_null]
      - name: visits
  - name: catalog
    schema: "{{{{ target.schema }}}}"
    tables:
      - name: genres
"""
SEEDS = """version: 2
seeds:
  - name: genres
    columns:
      - name: genre_id
        data_tests: [unique, not_null]
      - name: name
        data_tests:
          - not_null
          - accepted_values:
              arguments:
                values: [%s]
  - name: categories
    columns:
      - name: category_id
        data_tests: [unique, not_null]
      - name: name
        meta: {pii: false}
        data_tests: [not_null]
  - name: sessions
    columns:
      - name: session_uuid
        data_tests: [not_null]
      - name: device
        data_tests:
          - accepted_values:
              arguments: {values: [web, ios, android]}
""" % ", ".join(f'"{g}"' for g in GENRES)
MODELS = """version: 2
models:
  - name: rock_tracks
    columns:
      - name: track_id
        data_tests: [not_null]
  - name: track_genres
    columns:
      - name: genre_id
        data_tests:
          - not_null
          - relationships:
              arguments: {to: "ref('genres')", field: genre_id}
      - name: genre
        data_tests: [not_null]
  - name: tracks_by_category
    columns:
      - name: category
        data_tests: [not_null]
  - name: issue_labels
    columns:
      - name: topic
        data_tests: [not_null]
      - name: label
        data_tests: [not_null]
  - name: stg_patients
    columns:
      - name: patient_id
        data_tests: [unique, not_null]
      - name: phone_number
        data_tests: [not_null]
  - name: stg_visits
    columns:
      - name: visit_id
        data_tests: [unique, not_null]
      - name: patient_id
        data_tests:
          - relationships:
              arguments: {to: "ref('stg_patients')", field: patient_id}
"""
SQL = {
    "rock_tracks": "select t.track_id, t.milliseconds, t.length_category\n"
                   "from {{ source('music', 'tracks') }} t\n"
                   "join {{ source('music', 'styles') }} s on t.style_id = s.style_id\n"
                   "where s.name = 'Rock'\n",
    "track_genres": "select t.track_id, t.genre_id, g.name as genre\n"
                    "from {{ source('music', 'tracks') }} t\n"
                    "join {{ source('catalog', 'genres') }} g on t.genre_id = g.genre_id\n",
    "tracks_by_category": "select c.name as category, count(*) as tracks\n"
                          "from {{ source('music', 'tracks') }} t\n"
                          "join {{ ref('categories') }} c on t.category_id = c.category_id\n"
                          "group by c.name\n",
    "issue_labels": "select i.id as issue_id, i.state, r.topic, l.name as label\n"
                    "from {{ source('gh', 'issues') }} i\n"
                    "join {{ source('gh', 'repos') }} r on i.repo_id = r.id\n"
                    "join {{ source('gh', 'labels') }} l on l.issue_id = i.id\n",
    "stg_patients": 'select "PATIENT" as patient_id, phone::bigint as phone_number, age\n'
                    "from {{ source('clinic', 'patients') }}\n",
    "stg_visits": "select visit_id,\n"
                  "  case when patient_ref = '0' then null else patient_ref end as patient_id\n"
                  "from {{ source('clinic', 'visits') }}\n",
}
ROCK_NOT_EMPTY = """-- fails when the model filtering styles by the literal 'Rock' comes out empty
select 1 as empty_model where (select count(*) from {{ ref('rock_tracks') }}) = 0
"""
DDL = {
    "styles": "style_id INTEGER, name VARCHAR(20)",
    "tracks": "track_id INTEGER, genre_id INTEGER, style_id INTEGER, category_id INTEGER, milliseconds INTEGER, "
              "length_category VARCHAR(10)",
    "repos": "id VARCHAR(36), topic VARCHAR(20), stars INTEGER",
    "issues": "id INTEGER, repo_id VARCHAR(36), state VARCHAR(10)",
    "labels": "issue_id INTEGER, name VARCHAR(30)",
    "patients": '"PATIENT" VARCHAR(36), phone VARCHAR(10), password VARCHAR(64), age INTEGER',
    "visits": "visit_id INTEGER, patient_ref VARCHAR(36)",
}
SECRET_COLUMNS = {"patients": ["PATIENT", "phone", "password"], "repos": ["id"], "sessions": ["session_uuid",
                                                                                                 "token"]}
"""Columns no real value of which may appear anywhere in the synthetic tables (UUIDs, secrets, phones, free text)."""


@dataclass
class Published:
    project: DbtProject
    real_tests: dict[str, str]  # test name -> status on the real data
    frames: dict[str, pd.DataFrame]  # raw tables and seeds, as loaded

    @property
    def dir(self) -> Path:
        return self.project.project_dir

    @property
    def real_passing(self) -> set[str]:
        return {name for name, status in self.real_tests.items() if status == "pass"}


def _uuids(rng: np.random.Generator, n: int) -> list[str]:
    return [str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(n)]


def real_frames(seed: int = 0) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """(raw tables, seeds): a few hundred rows in all."""
    rng = np.random.default_rng(seed)
    styles = pd.DataFrame({"style_id": np.arange(1, len(STYLES) + 1), "name": STYLES})
    n = 240
    style_p = np.full(len(STYLES), 0.65 / (len(STYLES) - 1))
    style_p[0] = 0.35  # Rock: about a third of the tracks
    ms = rng.integers(60_000, 480_000, n)
    tracks = pd.DataFrame({
        "track_id": np.arange(1, n + 1), "genre_id": rng.integers(1, len(GENRES) + 1, n),
        "style_id": rng.choice(styles["style_id"], n, p=style_p),
        "category_id": rng.integers(1, len(CATEGORIES) + 1, n), "milliseconds": ms,
        "length_category": np.where(ms < 180_000, "Short", np.where(ms < 300_000, "Medium", "Long"))})
    repos = pd.DataFrame({"id": _uuids(rng, 30), "topic": rng.choice(TOPICS, 30), "stars": rng.integers(0, 900, 30)})
    issues = pd.DataFrame({"id": np.arange(70001, 70151), "repo_id": rng.choice(repos["id"], 150),
                           "state": rng.choice(["open", "closed"], 150)})
    labels = pd.DataFrame({"issue_id": rng.choice(issues["id"], 220), "name": rng.choice(LABELS, 220)})
    patients = pd.DataFrame({
        "PATIENT": _uuids(rng, 60),
        "phone": [str(v) for v in rng.integers(2_000_000_000, 9_999_999_999, 60)],
        "password": [hashlib.sha256(rng.bytes(12)).hexdigest() for _ in range(60)],
        "age": rng.integers(1, 95, 60)})
    refs = rng.choice(patients["PATIENT"], 200).astype(object)
    refs[rng.random(200) < 0.25] = "0"
    visits = pd.DataFrame({"visit_id": np.arange(1, 201), "patient_ref": refs})
    alphabet = np.array(list(string.ascii_letters + string.digits))
    tokens = ["".join(rng.choice(alphabet, 24)) for _ in range(110)]
    tokens += list(rng.choice(tokens, 10))  # mostly unique, a few repeats
    seeds = {
        "genres": pd.DataFrame({"genre_id": np.arange(1, len(GENRES) + 1), "name": GENRES}),
        "categories": pd.DataFrame({"category_id": np.arange(1, len(CATEGORIES) + 1), "name": CATEGORIES}),
        "sessions": pd.DataFrame({"session_uuid": _uuids(rng, 120), "token": tokens,
                                  "device": rng.choice(["web", "ios", "android"], 120)}),
    }
    return {"styles": styles, "tracks": tracks, "repos": repos, "issues": issues, "labels": labels,
            "patients": patients, "visits": visits}, seeds


def write_project(root: Path, seeds: dict[str, pd.DataFrame]) -> Path:
    files = {
        "dbt_project.yml": PROJECT,
        "profiles.yml": profiles_yml("published", "published.duckdb"),
        "packages.yml": f"packages:\n  - local: {REPO}\n",
        "macros/source.sql": SOURCE_MACRO,
        "models/sources.yml": SOURCES,
        "models/models.yml": MODELS,
        "seeds/seeds.yml": SEEDS,
        "tests/rock_tracks_not_empty.sql": ROCK_NOT_EMPTY,
        **{f"models/{name}.sql": sql for name, sql in SQL.items()},
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    for name, frame in seeds.items():
        frame.to_csv(root / "seeds" / f"{name}.csv", index=False)
    return root


def build_published(root: Path, *, target: str | None = None, env: dict[str, str] | None = None) -> Published:
    raw, seeds = real_frames()
    project = DbtProject(write_project(root, seeds), target=target, env=env)
    engine = project.engine()
    try:
        load_raw(engine, raw, schema=RAW, ddl=DDL)
    finally:
        engine.dispose()
    project.deps()
    project.seed()  # first: `track_genres` reads the seed `genres` as a source, which dbt does not order by
    result = project.build()
    tests = {o.name: o.status for o in result.tests()}
    assert result.success, [(o.name, o.message) for o in result.outcomes if not o.passed]
    return Published(project, tests, {**raw, **seeds})
