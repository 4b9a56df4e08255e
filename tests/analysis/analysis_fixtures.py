"""Fixture repositories for the analyzer: files, the facts a person would expect, and a
helper that writes them into a real git repository (git init + commit in a temp folder)."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "fixture",
    "GIT_AUTHOR_EMAIL": "fixture@example.com",
    "GIT_COMMITTER_NAME": "fixture",
    "GIT_COMMITTER_EMAIL": "fixture@example.com",
    "GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z",
}


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    done = subprocess.run(
        ["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True, timeout=60
    )
    return done.stdout.strip()


def write_files(root: Path, files: dict[str, str]) -> None:
    for rel, content in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)


def make_repo(root: Path, files: dict[str, str], *, branch: str = "main") -> str:
    """Create a git repository with `files` in one commit; returns the commit SHA."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "--quiet", f"--initial-branch={branch}")
    return commit(root, files, "initial")


def commit(root: Path, files: dict[str, str], message: str) -> str:
    write_files(root, files)
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "--allow-empty", "-m", message)
    return git(root, "rev-parse", "HEAD")


@dataclass(frozen=True)
class Expected:
    framework: str | None
    ports: list[int]
    language: str | None = None
    datastores: list[str] = field(default_factory=list)
    deployable: bool = True
    static_site: bool = False
    health: str | None = None
    runtime: str | None = None
    services: int | None = None
    # None: not checked; "": must be absent
    start: str | None = None
    build: str | None = None
    runner: str | None = None  # profile.runtime: node, bun, deno, python, ...
    package_manager: str | None = None
    path: str | None = None


@dataclass(frozen=True)
class Fixture:
    name: str
    files: dict[str, str]
    expected: Expected


FLASK_APP = """from flask import Flask
import os

app = Flask(__name__)


@app.route("/health")
def health():
    return "ok"


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=int(os.environ.get("PORT", 5050)))
"""

FIXTURES: list[Fixture] = [
    Fixture(
        "flask-env-default",
        {
            "requirements.txt": "flask==3.0.0\nredis>=5\n",
            "app.py": FLASK_APP,
            ".python-version": "3.12.1\n",
        },
        Expected("flask", [5050], "python", ["redis"], health="/health", runtime="3.12.1"),
    ),
    Fixture(
        "flask-dockerfile-overrides-default",
        {
            "requirements.txt": "Flask\ngunicorn\npsycopg2-binary\n",
            "app.py": "from flask import Flask\napp = Flask(__name__)\n",
            "Dockerfile": "FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\n"
            "RUN pip install -r requirements.txt\nEXPOSE 8080\n"
            'CMD ["gunicorn", "-b", "0.0.0.0:8080", "app:app"]\n',
        },
        Expected("flask", [8080], "python", ["postgres"], runtime="3.11"),
    ),
    Fixture(
        "fastapi-uvicorn",
        {
            "pyproject.toml": '[project]\nname = "svc"\nrequires-python = ">=3.11"\n'
            'dependencies = ["fastapi>=0.110", "uvicorn[standard]", "asyncpg"]\n',
            "src/svc/main.py": "from fastapi import FastAPI\nimport uvicorn\n\napp = FastAPI()\n\n"
            '@app.get("/healthz")\ndef healthz():\n    return {}\n\n'
            'if __name__ == "__main__":\n    uvicorn.run(app, host="0.0.0.0", port=8001)\n',
        },
        Expected("fastapi", [8001], "python", ["postgres"], health="/healthz", runtime="3.11"),
    ),
    Fixture(
        "django-default",
        {
            "requirements.txt": "Django==5.0\n",
            "manage.py": "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', "
            "'mysite.settings')\n",
            "mysite/settings.py": "DATABASES = {'default': {'ENGINE': "
            "'django.db.backends.postgresql'}}\n",
            "mysite/wsgi.py": "from django.core.wsgi import get_wsgi_application\n",
        },
        Expected("django", [8000], "python", ["postgres"]),
    ),
    Fixture(
        "express-env-default",
        {
            "package.json": '{"name": "api", "scripts": {"start": "node server.js"},\n'
            ' "engines": {"node": ">=20"},\n'
            ' "dependencies": {"express": "^4.19.0", "mongoose": "^8"}}\n',
            "server.js": "const express = require('express');\nconst app = express();\n"
            "const PORT = process.env.PORT || 4000;\napp.get('/ping', (q, r) => r.send('ok'));\n"
            "app.listen(PORT, () => console.log('up'));\n",
        },
        Expected("express", [4000], "javascript", ["mongodb"], health="/ping", runtime="20"),
    ),
    Fixture(
        "nextjs",
        {
            "package.json": '{"scripts": {"build": "next build", "start": "next start -p 3100"},\n'
            ' "dependencies": {"next": "14.2.0", "react": "18.2.0", "react-dom": "18.2.0"}}\n',
            "app/page.tsx": "export default function Page() { return <main/>; }\n",
            "tsconfig.json": "{}\n",
        },
        Expected("nextjs", [3100], "typescript"),
    ),
    Fixture(
        "nestjs",
        {
            "package.json": '{"scripts": {"build": "nest build", "start": "nest start"},\n'
            ' "dependencies": {"@nestjs/core": "^10", "@nestjs/common": "^10", "pg": "^8"}}\n',
            "nest-cli.json": "{}\n",
            "src/main.ts": "import { NestFactory } from '@nestjs/core';\n"
            "async function bootstrap() {\n  const app = await NestFactory.create(AppModule);\n"
            "  await app.listen(process.env.PORT ?? 3000);\n}\nbootstrap();\n",
        },
        Expected("nestjs", [3000], "typescript", ["postgres"]),
    ),
    Fixture(
        "go-net-http-env",
        {
            "go.mod": "module example.com/hello\n\ngo 1.22\n",
            "main.go": 'package main\n\nimport (\n\t"net/http"\n\t"os"\n)\n\nfunc main() {\n'
            '\tport := os.Getenv("PORT")\n\tif port == "" {\n\t\tport = "8081"\n\t}\n'
            '\thttp.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {})\n'
            '\thttp.ListenAndServe(":"+port, nil)\n}\n',
        },
        Expected("net/http", [8081], "go", health="/healthz", runtime="1.22"),
    ),
    Fixture(
        "go-gin-default",
        {
            "go.mod": "module example.com/g\n\ngo 1.21\n\nrequire (\n"
            "\tgithub.com/gin-gonic/gin v1.9.1\n\tgithub.com/redis/go-redis/v9 v9.5.1\n)\n",
            "main.go": 'package main\n\nimport "github.com/gin-gonic/gin"\n\nfunc main() {\n'
            "\tr := gin.Default()\n\tr.Run()\n}\n",
        },
        Expected("gin", [8080], "go", ["redis"], runtime="1.21"),
    ),
    Fixture(
        "go-echo",
        {
            "go.mod": "module example.com/e\n\ngo 1.22\n\n"
            "require github.com/labstack/echo/v4 v4.11.4\n",
            "server.go": 'package main\n\nimport "github.com/labstack/echo/v4"\n\nfunc main() {\n'
            '\te := echo.New()\n\te.Logger.Fatal(e.Start(":1323"))\n}\n',
        },
        Expected("echo", [1323], "go"),
    ),
    Fixture(
        "go-fiber",
        {
            "go.mod": "module example.com/f\n\ngo 1.22\n\nrequire (\n"
            "\tgithub.com/gofiber/fiber/v2 v2.52.0\n\tgithub.com/lib/pq v1.10.9\n)\n",
            "main.go": 'package main\n\nimport "github.com/gofiber/fiber/v2"\n\nfunc main() {\n'
            '\tapp := fiber.New()\n\tapp.Listen(":3001")\n}\n',
        },
        Expected("fiber", [3001], "go", ["postgres"]),
    ),
    Fixture(
        "spring-boot-maven",
        {
            "pom.xml": "<project>\n<properties>\n<java.version>21</java.version>\n</properties>\n"
            "<dependencies>\n<dependency><groupId>org.springframework.boot</groupId>"
            "<artifactId>spring-boot-starter-web</artifactId></dependency>\n"
            "<dependency><groupId>org.springframework.boot</groupId>"
            "<artifactId>spring-boot-starter-actuator</artifactId></dependency>\n"
            "<dependency><groupId>org.postgresql</groupId><artifactId>postgresql</artifactId>"
            "</dependency>\n</dependencies>\n</project>\n",
            "src/main/resources/application.properties": "server.port=${PORT:9090}\n",
            "src/main/java/demo/App.java": "package demo;\n@SpringBootApplication\n"
            "public class App {}\n",
        },
        Expected(
            "spring-boot", [9090], "java", ["postgres"], health="/actuator/health", runtime="21"
        ),
    ),
    Fixture(
        "spring-boot-gradle-yaml",
        {
            "build.gradle": "plugins { id 'org.springframework.boot' version '3.2.0' }\n"
            "java { toolchain { languageVersion = JavaLanguageVersion.of(17) } }\n"
            "dependencies {\n  implementation 'org.springframework.boot:spring-boot-starter-web'\n"
            "  implementation 'org.springframework.boot:spring-boot-starter-data-redis'\n}\n",
            "src/main/resources/application.yml": "spring:\n  application:\n    name: demo\n"
            "server:\n  port: 8085\n",
            "src/main/java/demo/App.java": "package demo;\npublic class App {}\n",
        },
        Expected("spring-boot", [8085], "java", ["redis"], runtime="17"),
    ),
    Fixture(
        "rails",
        {
            "Gemfile": "source 'https://rubygems.org'\nruby '3.3.0'\ngem 'rails', '~> 7.1'\n"
            "gem 'pg'\ngem 'puma'\n",
            "config/application.rb": "module Blog\n  class Application < Rails::Application\n"
            "  end\nend\n",
            "config/puma.rb": 'port ENV.fetch("PORT") { 3000 }\n',
            "config/routes.rb": 'Rails.application.routes.draw do\n  get "up" => '
            '"rails/health#show", as: :rails_health_check\nend\n',
            "config/database.yml": "default: &default\n  adapter: postgresql\n",
        },
        Expected("rails", [3000], "ruby", ["postgres"], health="/up", runtime="3.3.0"),
    ),
    Fixture(
        "laravel",
        {
            "composer.json": '{"require": {"php": "^8.2", "laravel/framework": "^11.0"}}\n',
            "artisan": "#!/usr/bin/env php\n<?php\n",
            ".env.example": "APP_NAME=Laravel\nDB_CONNECTION=mysql\nCACHE_STORE=redis\n",
            "bootstrap/app.php": "<?php\nreturn Application::configure()\n"
            "  ->withRouting(web: __DIR__.'/../routes/web.php', health: '/up')\n  ->create();\n",
            "routes/web.php": "<?php\nRoute::get('/', fn () => view('welcome'));\n",
        },
        Expected("laravel", [8000], "php", ["mysql", "redis"], health="/up", runtime="8.2"),
    ),
    Fixture(
        "aspnetcore",
        {
            "Api/Api.csproj": '<Project Sdk="Microsoft.NET.Sdk.Web">\n<PropertyGroup>\n'
            "<TargetFramework>net8.0</TargetFramework>\n</PropertyGroup>\n<ItemGroup>\n"
            '<PackageReference Include="Npgsql.EntityFrameworkCore.PostgreSQL" Version="8.0.0" />\n'
            "</ItemGroup>\n</Project>\n",
            "Api/Program.cs": "var builder = WebApplication.CreateBuilder(args);\n"
            'var app = builder.Build();\napp.MapHealthChecks("/health");\napp.Run();\n',
        },
        Expected("aspnetcore", [8080], "csharp", ["postgres"], health="/health", runtime="8.0"),
    ),
    Fixture(
        "rust-actix",
        {
            "Cargo.toml": '[package]\nname = "svc"\nversion = "0.1.0"\nedition = "2021"\n\n'
            '[dependencies]\nactix-web = "4"\n'
            'sqlx = { version = "0.7", features = ["postgres"] }\n',
            "src/main.rs": "use actix_web::{App, HttpServer};\n#[actix_web::main]\n"
            "async fn main() -> std::io::Result<()> {\n    HttpServer::new(|| App::new())\n"
            '        .bind(("0.0.0.0", 8088))?\n        .run()\n        .await\n}\n',
        },
        Expected("actix-web", [8088], "rust", ["postgres"]),
    ),
    Fixture(
        "rust-axum-env",
        {
            "Cargo.toml": '[package]\nname = "ax"\nversion = "0.1.0"\n\n[dependencies]\n'
            'axum = "0.7"\ntokio = { version = "1", features = ["full"] }\n',
            "src/main.rs": "#[tokio::main]\nasync fn main() {\n"
            '    let port = std::env::var("PORT").unwrap_or_else(|_| "7000".to_string());\n'
            "    let listener =\n"
            '        tokio::net::TcpListener::bind(format!("0.0.0.0:{port}")).await;\n}\n',
        },
        Expected("axum", [7000], "rust"),
    ),
    Fixture(
        "static-html",
        {"index.html": "<!doctype html><title>hi</title>\n", "style.css": "body{}\n"},
        Expected("static-html", [], "html", static_site=True),
    ),
    Fixture(
        "vite-react-spa",
        {
            "package.json": '{"scripts": {"dev": "vite", "build": "vite build"},\n'
            ' "dependencies": {"react": "^18", "react-dom": "^18"},\n'
            ' "devDependencies": {"vite": "^5", "@vitejs/plugin-react": "^4"}}\n',
            "index.html": '<div id="root"></div><script type="module" src="/src/main.jsx">'
            "</script>\n",
            "vite.config.js": "export default {}\n",
            "src/main.jsx": "import React from 'react';\n",
        },
        Expected("vite", [], "javascript", static_site=True),
    ),
    Fixture(
        "monorepo",
        {
            "README.md": "# shop\n",
            "services/api/go.mod": "module example.com/api\n\ngo 1.22\n",
            "services/api/main.go": 'package main\n\nimport "net/http"\n\nfunc main() {\n'
            '\thttp.ListenAndServe(":9000", nil)\n}\n',
            "services/api/Dockerfile": "FROM golang:1.22 AS build\nFROM gcr.io/distroless/static\n"
            "EXPOSE 9000\n",
            "web/package.json": '{"scripts": {"build": "vite build"}, "devDependencies": '
            '{"vite": "^5"}}\n',
            "web/index.html": "<div id=app></div>\n",
            "libs/common/pyproject.toml": '[project]\nname = "common"\ndependencies = []\n',
            "libs/common/common/__init__.py": "X = 1\n",
        },
        Expected("net/http", [9000], "go", services=2),
    ),
    Fixture(
        "python-library",
        {
            "pyproject.toml": '[project]\nname = "lib"\ndependencies = ["requests"]\n',
            "lib/__init__.py": "def add(a, b):\n    return a + b\n",
        },
        Expected(None, [], "python", deployable=False),
    ),
    Fixture(
        "docs-only",
        {"README.md": "# notes\n", "notes/a.txt": "text\n"},
        Expected(None, [], None, deployable=False),
    ),
]

# The kinds of issue 14: start commands, package managers, runtimes, encodings, evidence.
EXPRESS_SERVER = (
    "const express = require('express');\nconst app = express();\n"
    "app.get('/healthz', (q, r) => r.send('ok'));\n"
    "app.listen(process.env.PORT || 3000);\n"
)
FIXTURES += [
    Fixture(
        "nextjs-output-export",
        {
            "package.json": '{"scripts": {"build": "next build", "start": "next start"},\n'
            ' "dependencies": {"next": "14.2.3", "react": "18", "react-dom": "18"}}\n',
            "package-lock.json": "{}\n",
            "next.config.mjs": "export default { output: 'export' };\n",
            "app/page.tsx": "export default function P() { return null; }\n",
        },
        Expected(
            "nextjs",
            [],
            "typescript",
            static_site=True,
            start="",
            build="npm ci && npm run build",
            runner="node",
            package_manager="npm",
        ),
    ),
    Fixture(
        "nextjs-output-standalone",
        {
            "package.json": '{"scripts": {"build": "next build", "start": "next start"},\n'
            ' "dependencies": {"next": "15.0.0", "react": "19", "react-dom": "19"}}\n',
            "next.config.js": 'module.exports = { output: "standalone" };\n',
            "app/page.tsx": "export default function P() { return null; }\n",
        },
        Expected(
            "nextjs",
            [3000],
            "typescript",
            start="node .next/standalone/server.js",
            build="npm install && npm run build",
        ),
    ),
    Fixture(
        "django-settings-split",
        {
            "requirements.txt": "Django>=5\ngunicorn\nmysqlclient\n",
            "manage.py": "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', "
            "'blog.settings.prod')\nfrom django.core.management import execute_from_command_line\n",
            "blog/__init__.py": "",
            "blog/settings/__init__.py": "",
            "blog/settings/base.py": "ROOT_URLCONF = 'blog.urls'\n",
            "blog/settings/prod.py": "from .base import *\nDATABASES = {'default': {'ENGINE': "
            "'django.db.backends.mysql'}}\n",
            "blog/wsgi.py": "from django.core.wsgi import get_wsgi_application\n"
            "application = get_wsgi_application()\n",
        },
        Expected(
            "django",
            [8000],
            "python",
            ["mysql"],
            start="gunicorn blog.wsgi --bind 0.0.0.0:8000",
            build="pip install -r requirements.txt",
        ),
    ),
    Fixture(
        "django-manage-in-src",
        {
            "requirements.txt": "django==5.0\n",
            ".python-version": "3.12\n",
            "src/manage.py": "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', "
            "'shop.settings')\n",
            "src/shop/__init__.py": "",
            "src/shop/settings.py": "DATABASES = {'default': {'ENGINE': "
            "'django.db.backends.postgresql'}}\n",
            "src/shop/wsgi.py": "from django.core.wsgi import get_wsgi_application\n"
            "application = get_wsgi_application()\n",
        },
        Expected(
            "django",
            [8000],
            "python",
            ["postgres"],
            runtime="3.12",
            services=1,
            start="gunicorn --chdir src shop.wsgi --bind 0.0.0.0:8000",
            build="pip install -r requirements.txt && pip install gunicorn",
        ),
    ),
    Fixture(
        "flask-application-factory",
        {
            "requirements.txt": "flask\ngunicorn\n",
            "app/__init__.py": "from flask import Flask\n\n\ndef create_app():\n"
            "    app = Flask(__name__)\n    return app\n",
        },
        Expected(
            "flask", [5000], "python", start="gunicorn 'app:create_app()' --bind 0.0.0.0:5000"
        ),
    ),
    Fixture(
        "flask-without-gunicorn",
        {
            "requirements.txt": "Flask==3.0.3\n",
            "server.py": "from flask import Flask\napp = Flask(__name__)\n",
        },
        Expected(
            "flask",
            [5000],
            "python",
            start="gunicorn server:app --bind 0.0.0.0:5000",
            build="pip install -r requirements.txt && pip install gunicorn",
        ),
    ),
    Fixture(
        "manage-py-that-is-flask",
        {
            "requirements.txt": "flask\nflask-script\ngunicorn\n",
            "manage.py": "from flask_script import Manager\nfrom web import app\n"
            "manager = Manager(app)\n",
            "web.py": "from flask import Flask\napp = Flask(__name__)\n",
        },
        Expected("flask", [5000], "python", start="gunicorn web:app --bind 0.0.0.0:5000"),
    ),
    Fixture(
        "fastapi-uv-project",
        {
            "pyproject.toml": '[project]\nname = "api"\nrequires-python = ">=3.12"\n'
            'dependencies = ["fastapi[standard]>=0.115", "sqlalchemy", "psycopg[binary]"]\n',
            "uv.lock": "version = 1\n",
            "main.py": "from fastapi import FastAPI\napp = FastAPI()\n",
        },
        Expected(
            "fastapi",
            [8000],
            "python",
            ["postgres"],
            runtime="3.12",
            start="uv run uvicorn main:app --host 0.0.0.0 --port 8000",
            build="pip install uv && uv sync --frozen --no-dev",
            package_manager="uv",
        ),
    ),
    Fixture(
        "fastapi-utf16-crlf-requirements",
        {
            "requirements.txt": "\ufefffastapi==0.111.0\r\nuvicorn==0.30.1\r\nredis==5.0.4\r\n",
            "app.py": "from fastapi import FastAPI\r\napp = FastAPI()\r\n",
        },
        Expected(
            "fastapi",
            [8000],
            "python",
            ["redis"],
            start="uvicorn app:app --host 0.0.0.0 --port 8000",
        ),
    ),
    Fixture(
        "python-tool-versions",
        {
            "requirements.txt": "fastapi\nuvicorn\n",
            ".tool-versions": "nodejs 20.12.2\npython 3.11.9\n",
            "main.py": "from fastapi import FastAPI\napp = FastAPI()\n",
        },
        Expected("fastapi", [8000], "python", runtime="3.11.9"),
    ),
    Fixture(
        "python-runtime-txt-config-module",
        {
            "requirements.txt": "flask\ngunicorn\nsqlalchemy\n",
            "runtime.txt": "python-3.10.12\n",
            "app.py": "from flask import Flask\nfrom config import DATABASE_URL\n"
            "app = Flask(__name__)\n",
            "config.py": "import os\nDATABASE_URL = os.getenv('DATABASE_URL', "
            "'postgresql://app@localhost/app')\n",
        },
        Expected("flask", [5000], "python", ["postgres"], runtime="3.10.12"),
    ),
    Fixture(
        "express-package-json-bom",
        {
            "package.json": '\ufeff{"scripts": {"start": "node server.js"},\n'
            ' "dependencies": {"express": "^4", "pg": "^8"}}\n',
            "package-lock.json": "{}\n",
            "server.js": EXPRESS_SERVER,
        },
        Expected(
            "express",
            [3000],
            "javascript",
            ["postgres"],
            health="/healthz",
            start="npm start",
            build="npm ci",
        ),
    ),
    Fixture(
        "procfile-beats-nodemon",
        {
            "Procfile": "web: node index.js\n",
            "package.json": '{"scripts": {"start": "nodemon index.js"},\n'
            ' "dependencies": {"express": "^4"}, "devDependencies": {"nodemon": "^3"}}\n',
            "index.js": EXPRESS_SERVER.replace("3000", "5000"),
        },
        Expected("express", [5000], "javascript", start="node index.js"),
    ),
    Fixture(
        "node-dev-start-script",
        {
            "package.json": '{"scripts": {"start": "nodemon src/server.js"},\n'
            ' "dependencies": {"express": "^4"}}\n',
            "src/server.js": EXPRESS_SERVER,
        },
        Expected("express", [3000], "javascript", start="node src/server.js"),
    ),
    Fixture(
        "nestjs-start-prod",
        {
            "package.json": '{"scripts": {"build": "nest build", "start": "nest start",\n'
            ' "start:dev": "nest start --watch", "start:prod": "node dist/main"},\n'
            ' "dependencies": {"@nestjs/core": "^10", "@nestjs/common": "^10", "ioredis": "^5"}}\n',
            "yarn.lock": "# yarn lockfile v1\n",
            "src/main.ts": "async function bootstrap() {\n  const app = await "
            "NestFactory.create(AppModule);\n  await app.listen(3000);\n}\n",
        },
        Expected(
            "nestjs",
            [3000],
            "typescript",
            ["redis"],
            start="yarn start:prod",
            build="yarn install --frozen-lockfile && yarn build",
            package_manager="yarn",
        ),
    ),
    Fixture(
        "ts-node-start-with-build",
        {
            "package.json": '{"main": "dist/index.js", "scripts": {"build": "tsc",\n'
            ' "start": "ts-node src/index.ts"}, "dependencies": {"fastify": "^4"}}\n',
            "tsconfig.json": '{"compilerOptions": {"outDir": "dist"}}\n',
            "src/index.ts": "import Fastify from 'fastify';\nconst app = Fastify();\n"
            "app.listen({ port: 8080, host: '0.0.0.0' });\n",
        },
        Expected("fastify", [8080], "typescript", start="node dist/index.js"),
    ),
    Fixture(
        "main-points-at-missing-file",
        {
            "package.json": '{"main": "server.js", "dependencies": {"express": "^4"}}\n',
            "app.js": EXPRESS_SERVER,
        },
        Expected("express", [3000], "javascript", start="node app.js"),
    ),
    Fixture(
        "yarn-berry",
        {
            "package.json": '{"packageManager": "yarn@4.1.1", "scripts": {"build": "tsc",\n'
            ' "start": "node dist/index.js"}, "dependencies": {"koa": "^2"}}\n',
            "yarn.lock": "__metadata:\n  version: 8\n",
            ".yarnrc.yml": "nodeLinker: node-modules\n",
            "src/index.ts": "import Koa from 'koa';\nnew Koa().listen(4001);\n",
        },
        Expected(
            "koa",
            [4001],
            "typescript",
            start="yarn start",
            build="yarn install --immutable && yarn build",
            package_manager="yarn",
        ),
    ),
    Fixture(
        "pnpm-workspace-apps",
        {
            "package.json": '{"private": true, "packageManager": "pnpm@9.0.0"}\n',
            "pnpm-lock.yaml": "lockfileVersion: '9.0'\n",
            "pnpm-workspace.yaml": "packages:\n  - apps/*\n",
            "apps/shop/package.json": '{"name": "shop", "scripts": {"build": "next build",\n'
            ' "start": "next start"}, "dependencies": {"next": "14", "react": "18"}}\n',
            "apps/shop/app/page.tsx": "export default function P() { return null; }\n",
            "apps/api/package.json": '{"name": "api", "scripts": {"start": "node index.js"},\n'
            ' "dependencies": {"express": "^4"}}\n',
            "apps/api/index.js": EXPRESS_SERVER.replace("3000", "4000"),
        },
        Expected(
            "express",
            [4000],
            "javascript",
            services=2,
            path="apps/api",
            start="pnpm --filter api start",
            build="pnpm install --frozen-lockfile",
            package_manager="pnpm",
        ),
    ),
    Fixture(
        "bun-hono",
        {
            "package.json": '{"scripts": {"start": "bun run src/index.ts"},\n'
            ' "dependencies": {"hono": "^4"}, "devDependencies": {"@types/bun": "^1"}}\n',
            "bun.lock": "{}\n",
            "src/index.ts": "import { Hono } from 'hono';\nconst app = new Hono();\n"
            "export default { port: Number(process.env.PORT ?? 3030), fetch: app.fetch };\n",
        },
        Expected(
            "hono",
            [3030],
            "typescript",
            start="bun run start",
            build="bun install --frozen-lockfile",
            runner="bun",
            package_manager="bun",
        ),
    ),
    Fixture(
        "deno-serve",
        {
            "deno.jsonc": '{\n  // tasks\n  "tasks": {"start": "deno run -A main.ts"}\n}\n',
            "main.ts": 'Deno.serve({ port: 8001 }, () => new Response("hi"));\n',
        },
        Expected(None, [8001], "typescript", start="deno task start", runner="deno"),
    ),
    Fixture(
        "node-mise-toml",
        {
            "package.json": '{"scripts": {"start": "node server.js"},\n'
            ' "dependencies": {"express": "^4", "@neondatabase/serverless": "^0.9"}}\n',
            "mise.toml": '[tools]\nnode = "22.3.0"\n',
            "server.js": EXPRESS_SERVER,
        },
        Expected("express", [3000], "javascript", ["postgres"], runtime="22.3.0"),
    ),
    Fixture(
        "prisma-schema-path-in-package-json",
        {
            "package.json": '{"prisma": {"schema": "db/schema.prisma"},\n'
            ' "scripts": {"start": "node index.js"},\n'
            ' "dependencies": {"express": "^4", "@prisma/client": "^5"}}\n',
            "db/schema.prisma": 'datasource db {\n  provider = "mysql"\n  url = env("DB")\n}\n',
            "index.js": EXPRESS_SERVER,
        },
        Expected("express", [3000], "javascript", ["mysql"]),
    ),
    Fixture(
        "drizzle-config-dialect",
        {
            "package.json": '{"scripts": {"start": "node index.js"},\n'
            ' "dependencies": {"express": "^4", "drizzle-orm": "^0.30"}}\n',
            "drizzle.config.ts": "export default { dialect: 'postgresql', schema: './s.ts' };\n",
            "index.js": EXPRESS_SERVER,
        },
        Expected("express", [3000], "javascript", ["postgres"]),
    ),
    Fixture(
        "go-cmd-server-layout",
        {
            "go.mod": "module github.com/acme/shop\n\ngo 1.22\n\nrequire (\n"
            "\tgithub.com/gin-gonic/gin v1.10.0\n\tgithub.com/jackc/pgx/v5 v5.6.0 // indirect\n)\n",
            "cmd/server/main.go": 'package main\n\nimport (\n\t"github.com/gin-gonic/gin"\n'
            '\t"github.com/jackc/pgx/v5/pgxpool"\n)\n\nfunc main() {\n\tr := gin.Default()\n'
            '\t_ = pgxpool.New\n\tr.Run(":9090")\n}\n',
            "cmd/migrate/main.go": "package main\n\nfunc main() {}\n",
            "internal/db/db.go": "package db\n",
        },
        Expected(
            "gin",
            [9090],
            "go",
            ["postgres"],
            runtime="1.22",
            build="CGO_ENABLED=0 go build -o bin/server ./cmd/server",
            start="./bin/server",
        ),
    ),
    Fixture(
        "maven-multi-module",
        {
            "pom.xml": "<project><artifactId>parent</artifactId><packaging>pom</packaging>\n"
            "<properties><java.version>17</java.version></properties>\n"
            "<modules><module>core</module><module>web</module></modules></project>\n",
            "mvnw": "#!/bin/sh\n",
            "core/pom.xml": "<project><artifactId>core</artifactId></project>\n",
            "core/src/main/java/a/Core.java": "package a;\nclass Core {}\n",
            "web/pom.xml": "<project><artifactId>web</artifactId><dependencies>\n"
            "<dependency><artifactId>spring-boot-starter-web</artifactId></dependency>\n"
            "<dependency><artifactId>postgresql</artifactId></dependency>\n"
            "</dependencies></project>\n",
            "web/src/main/java/a/App.java": "package a;\nclass App {}\n",
        },
        Expected(
            "spring-boot",
            [8080],
            "java",
            ["postgres"],
            runtime="17",
            path="web",
            build="./mvnw -B -pl web -am package -DskipTests",
            start="java -jar web/target/*.jar",
            services=1,
        ),
    ),
    Fixture(
        "gradle-multi-project",
        {
            "settings.gradle": "rootProject.name = 'shop'\ninclude 'api', 'lib'\n",
            "gradlew": "#!/bin/sh\n",
            "api/build.gradle": "plugins { id 'org.springframework.boot' version '3.3.0' }\n"
            "dependencies { implementation 'org.springframework.boot:spring-boot-starter-web' }\n",
            "api/src/main/resources/application.properties": "server.port=8082\n",
            "lib/build.gradle": "plugins { id 'java-library' }\n",
        },
        Expected(
            "spring-boot",
            [8082],
            "java",
            path="api",
            build="./gradlew :api:bootJar",
            start="java -jar api/build/libs/*.jar",
        ),
    ),
    Fixture(
        "dockerfile-exec-entrypoint-no-cmd",
        {
            "package.json": '{"scripts": {"start": "node server.js"},\n'
            ' "dependencies": {"express": "^4"}}\n',
            "server.js": EXPRESS_SERVER,
            "Dockerfile": 'FROM node:20-slim\nCOPY . .\nENTRYPOINT ["/docker-entrypoint.sh"]\n',
            "docker-entrypoint.sh": '#!/bin/sh\nset -e\nexec "$@"\n',
        },
        Expected("express", [3000], "javascript", runtime="20", start="npm start"),
    ),
    Fixture(
        "dockerfile-only-root-real-project-below",
        {
            "Dockerfile": "FROM node:20\nWORKDIR /app\nCOPY app/ .\nEXPOSE 8080\n"
            'CMD ["node", "index.js"]\n',
            "app/package.json": '{"scripts": {"start": "node index.js"},\n'
            ' "dependencies": {"express": "^4"}}\n',
            "app/index.js": EXPRESS_SERVER,
        },
        Expected("express", [3000], "javascript", path="app", services=1),
    ),
    Fixture(
        "nginx-static-image-default-port",
        {
            "index.html": "<!doctype html><title>site</title>\n",
            "Dockerfile": "FROM nginx:1.27-alpine\nCOPY index.html /usr/share/nginx/html/\n",
        },
        Expected("static-html", [80], "html", static_site=True),
    ),
    Fixture(
        "compose-ports-and-services",
        {
            "package.json": '{"scripts": {"start": "node index.js"},\n'
            ' "dependencies": {"express": "^4"}}\n',
            "index.js": "require('express')().listen(process.env.PORT);\n",
            "docker-compose.yml": "services:\n  web:\n    build: .\n    ports:\n"
            '      - "8080:3300"\n  cache:\n    image: redis:7\n  db:\n    image: postgres:16\n',
        },
        Expected("express", [3300], "javascript", ["postgres", "redis"]),
    ),
    Fixture(
        "rust-axum-parse-bind",
        {
            "Cargo.toml": '[package]\nname = "svc"\nversion = "0.1.0"\n\n[dependencies]\n'
            'axum = "0.7"\nredis = "0.25"\n',
            "src/main.rs": "async fn main() {\n    let addr: std::net::SocketAddr = "
            '"0.0.0.0:8090".parse().unwrap();\n    let l = tokio::net::TcpListener::bind(&addr);\n}\n',
        },
        Expected("axum", [8090], "rust", ["redis"]),
    ),
    Fixture(
        "vite-spa-with-start-script",
        {
            "package.json": '{"scripts": {"start": "vite", "build": "vite build",\n'
            ' "production": "vite build --mode production"},\n'
            ' "devDependencies": {"vite": "^5"}, "dependencies": {"vue": "^3"}}\n',
            "index.html": '<div id="app"></div>\n',
            "src/main.js": "import { createApp } from 'vue';\n",
        },
        Expected(
            "vite",
            [],
            "javascript",
            static_site=True,
            start="",
            build="npm install && npm run build",
        ),
    ),
    Fixture(
        "quarkus-config-port",
        {
            "pom.xml": "<project><properties><maven.compiler.release>21</maven.compiler.release>"
            "</properties>\n<dependencies><dependency><groupId>io.quarkus</groupId>"
            "<artifactId>quarkus-rest</artifactId></dependency></dependencies></project>\n",
            "src/main/resources/application.properties": "quarkus.http.port=8181\n",
            "src/main/java/a/Hello.java": "package a;\nclass Hello {}\n",
        },
        Expected(
            "quarkus",
            [8181],
            "java",
            runtime="21",
            build="mvn -B package -DskipTests",
            start="java -jar target/quarkus-app/quarkus-run.jar",
        ),
    ),
    Fixture(
        "ktor-embedded-server",
        {
            "build.gradle.kts": 'plugins { kotlin("jvm") version "2.0.0" }\n'
            'dependencies { implementation("io.ktor:ktor-server-netty:2.3.12") }\n',
            "src/main/kotlin/App.kt": "fun main() {\n    embeddedServer(Netty, port = 8089) "
            "{ }.start(wait = true)\n}\n",
        },
        Expected("ktor", [8089], "kotlin", build="gradle build -x test"),
    ),
    Fixture(
        "node-config-module-default-url",
        {
            "package.json": '{"scripts": {"start": "node dist/index.js", "build": "tsc"},\n'
            ' "dependencies": {"express": "^4", "pg": "^8"}}\n',
            "src/config.ts": "export const redisUrl = process.env.REDIS_URL ?? "
            "'redis://localhost:6379';\n",
            "src/index.ts": "import express from 'express';\nexpress().listen(8000);\n",
        },
        Expected(
            "express",
            [8000],
            "typescript",
            ["postgres", "redis"],
            start="npm start",
            build="npm install && npm run build",
        ),
    ),
]


def check(profile: object, expected: Expected) -> dict[str, bool]:
    """Which expected facts the profile got right (one entry per checked field)."""
    from function.analysis.profile import AppProfile

    assert isinstance(profile, AppProfile)
    result = {
        "deployable": profile.deployable == expected.deployable,
        "framework": profile.framework == expected.framework,
        "port": profile.ports[:1] == expected.ports[:1],
        "language": profile.language == expected.language,
        "datastores": sorted(profile.datastores) == sorted(expected.datastores),
        "static_site": profile.static_site == expected.static_site,
    }
    if expected.health is not None:
        result["health"] = profile.health_check_path == expected.health
    if expected.runtime is not None:
        result["runtime"] = profile.runtime_version == expected.runtime
    if expected.services is not None:
        result["services"] = len(profile.services) == expected.services
    if not expected.deployable:
        result["reason"] = bool(profile.not_deployable_reason)
    if expected.start is not None:
        result["start"] = (profile.start_command or "") == expected.start
    if expected.build is not None:
        result["build"] = (profile.build_command or "") == expected.build
    if expected.runner is not None:
        result["runner"] = profile.runtime == expected.runner
    if expected.package_manager is not None:
        result["pkg_manager"] = profile.package_manager == expected.package_manager
    if expected.path is not None:
        result["path"] = profile.path == expected.path
    return result
