# The two commands: `make run` serves the map at http://127.0.0.1:8000, `make test` runs the suite.
.PHONY: run test setup lint bench clean-data

run:
	bash scripts/bootstrap.sh run
	.venv/bin/xiangmap setup
	.venv/bin/xiangmap serve

test:
	bash scripts/bootstrap.sh test
	.venv/bin/ruff check .
	.venv/bin/python -m pytest -q $(PYTEST_ARGS)

setup:
	bash scripts/bootstrap.sh run
	.venv/bin/xiangmap setup

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

bench:
	bash scripts/bootstrap.sh test
	.venv/bin/python -m bench

clean-data:
	-.venv/bin/xiangmap db cluster stop
	rm -rf .data
