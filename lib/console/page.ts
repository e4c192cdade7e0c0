/**
 * The console's one HTML page. No inline script or style: the
 * Content-Security-Policy forbids both. The module builds everything else,
 * in the language the reader chose.
 */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>wechat-scheduler console</title>
<link rel="icon" href="console/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="console/assets/console.css">
<script type="module" src="console/assets/main.js"></script>
</head>
<body>
<main id="app"><noscript>This console needs JavaScript. 控制台需要启用 JavaScript。</noscript></main>
</body>
</html>
`;

export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="#07c160"/></svg>`;
