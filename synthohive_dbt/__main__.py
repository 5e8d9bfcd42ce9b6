"""`python -m synthohive_dbt` is the same as the `synthohive` command."""

from synthohive_dbt.cli import main

if __name__ == "__main__":
    main()
