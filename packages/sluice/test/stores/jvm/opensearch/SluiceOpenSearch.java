// A one-node OpenSearch for Sluice's tests, run from the jars that pom.xml beside this file
// names (no distribution, no plugin directory, no security manager). Usage:
//   java -cp <classpath>:<this class> SluiceOpenSearch <home dir>
// Settings come from system properties prefixed "sluice.os." (e.g. -Dsluice.os.http.port=0);
// the defaults below make a single-node cluster on 127.0.0.1 that ignores the disk watermarks.
// Once the node has started it prints "sluice-opensearch http <host:port>" on stdout, which
// packages/sluice/test/stores/opensearch.ts waits for; SIGTERM closes the node.

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.http.HttpServerTransport;
import org.opensearch.ingest.common.IngestCommonPlugin;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

public final class SluiceOpenSearch extends Node {
  private static final Collection<Class<? extends Plugin>> PLUGINS =
      Arrays.asList(Netty4Plugin.class, CommonAnalysisPlugin.class, IngestCommonPlugin.class);

  private SluiceOpenSearch(Environment environment) {
    // The protected constructor takes plugin classes from the classpath, as the test
    // framework's MockNode does; the public one loads plugins from a plugins directory only.
    super(environment, PLUGINS, true);
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 1) {
      System.err.println("usage: SluiceOpenSearch <home dir>");
      System.exit(2);
    }
    Path home = Paths.get(args[0]).toAbsolutePath();
    Files.createDirectories(home.resolve("config"));
    Settings.Builder settings = Settings.builder()
        .put("path.home", home.toString())
        .put("path.data", home.resolve("data").toString())
        .put("path.logs", home.resolve("logs").toString())
        .put("cluster.name", "sluice-test")
        .put("node.name", "sluice-test-node")
        .put("discovery.type", "single-node")
        .put("network.host", "127.0.0.1")
        .put("http.port", "0")
        .put("transport.port", "0")
        .put("cluster.routing.allocation.disk.threshold_enabled", false)
        .put("action.destructive_requires_name", false);
    for (String key : System.getProperties().stringPropertyNames()) {
      if (key.startsWith("sluice.os.")) {
        settings.put(key.substring("sluice.os.".length()), System.getProperty(key));
      }
    }
    Environment environment = InternalSettingsPreparer.prepareEnvironment(
        settings.build(), Collections.emptyMap(), home.resolve("config"), () -> "sluice-test-node");
    SluiceOpenSearch node = new SluiceOpenSearch(environment);
    CountDownLatch closed = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        node.close();
        node.awaitClose(10, TimeUnit.SECONDS);
      } catch (Exception e) {
        e.printStackTrace();
      } finally {
        closed.countDown();
      }
    }, "sluice-opensearch-stop"));
    node.start();
    HttpServerTransport http = node.injector().getInstance(HttpServerTransport.class);
    System.out.println("sluice-opensearch http " + http.boundAddress().publishAddress());
    System.out.flush();
    closed.await();
  }
}
