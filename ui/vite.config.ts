import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// Built into ui/dist, which scia-api serves at / (function/api/app.py).
export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false },
  server: { proxy: { "/graphql": { target: "http://127.0.0.1:8000", ws: true } } },
});
