// Renders GraphiQL into #graphiql, querying the endpoint named by its
// data-endpoint attribute. Kept out of the HTML so the page's
// Content-Security-Policy needs no inline script.
(function () {
  "use strict";
  var root = document.getElementById("graphiql");
  var fetcher = GraphiQL.createFetcher({ url: root.dataset.endpoint });
  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      isHeadersEditorEnabled: true,
      // Open the headers tab so an Authorization header is easy to add.
      defaultEditorToolsVisibility: "headers",
    })
  );
})();
