const express = require("express");
const app = express();
const port = process.env.PORT || 3000;

app.get("/health", (req, res) => res.json({ status: "ok" }));
app.get("/", (req, res) => res.json({ message: "hello from express-api" }));

app.listen(port, () => console.log(`listening on ${port}`));
