/* /api/docs: Swagger UI from the vendored bundle, reading the product's own OpenAPI. */
window.addEventListener("DOMContentLoaded", function () {
  window.ui = SwaggerUIBundle({
    url: "/api/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    requestInterceptor: function (request) {
      var meta = document.querySelector('meta[name="csrf-token"]');
      if (meta && meta.content) { request.headers["X-CSRF-Token"] = meta.content; }
      return request;
    }
  });
});
