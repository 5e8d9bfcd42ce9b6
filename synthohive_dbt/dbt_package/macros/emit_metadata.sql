{#-
  dbt run-operation synthohive_emit_metadata

  Logs, between the lines SYNTHOHIVE_METADATA_START and SYNTHOHIVE_METADATA_END, one JSON document with
  what synthohive needs from the project graph: every source, seed, model and snapshot (relation, columns
  with data_type / meta / tags / constraints) and every generic test (name, namespace, kwargs, column,
  attached node, severity, where). A path for tools that cannot read target/manifest.json.
-#}
{% macro synthohive_emit_metadata() %}
  {%- if not execute -%}{{ return('') }}{%- endif -%}
  {%- set tables = [] -%}
  {%- set relations = (graph.sources.values() | list) + (graph.nodes.values() | list) -%}
  {%- for node in relations if node.resource_type in ['source', 'seed', 'model', 'snapshot'] -%}
    {%- set columns = [] -%}
    {%- for col in (node.get('columns') or {}).values() -%}
      {%- do columns.append({
          "name": col.get('name'), "data_type": col.get('data_type'), "meta": col.get('meta') or {},
          "tags": col.get('tags') or [], "constraints": col.get('constraints') or [],
          "description": col.get('description') or ""}) -%}
    {%- endfor -%}
    {%- set config = node.get('config') or {} -%}
    {%- do tables.append({
        "unique_id": node.unique_id, "resource_type": node.resource_type, "name": node.name,
        "package_name": node.package_name, "source_name": node.get('source_name'),
        "database": node.get('database'), "schema": node.get('schema'),
        "identifier": node.get('identifier') or node.get('alias') or node.name,
        "materialized": config.get('materialized'), "meta": node.get('meta') or config.get('meta') or {},
        "tags": node.get('tags') or [], "constraints": node.get('constraints') or [],
        "columns": columns}) -%}
  {%- endfor -%}
  {%- set tests = [] -%}
  {%- for node in graph.nodes.values() if node.resource_type == 'test' and node.get('test_metadata') -%}
    {%- set config = node.get('config') or {} -%}
    {%- do tests.append({
        "unique_id": node.unique_id, "name": node.test_metadata.get('name'),
        "namespace": node.test_metadata.get('namespace'), "kwargs": node.test_metadata.get('kwargs') or {},
        "column_name": node.get('column_name'), "attached_node": node.get('attached_node'),
        "depends_on": (node.get('depends_on') or {}).get('nodes') or [],
        "severity": config.get('severity'), "where": config.get('where')}) -%}
  {%- endfor -%}
  {%- set payload = {
      "synthohive_metadata_version": 1, "project": project_name,
      "target": {"name": target.name, "type": target.type, "database": target.database,
                 "schema": target.schema},
      "tables": tables, "tests": tests} -%}
  {%- do log("SYNTHOHIVE_METADATA_START\n" ~ tojson(payload) ~ "\nSYNTHOHIVE_METADATA_END", info=True) -%}
{% endmacro %}
