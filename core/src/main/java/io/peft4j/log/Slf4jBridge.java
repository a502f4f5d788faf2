package io.peft4j.log;

import org.slf4j.ILoggerFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The only class that touches SLF4J; loaded only after checking that SLF4J is on the class path. */
final class Slf4jBridge {

    private Slf4jBridge() {}

    /**
     * Whether SLF4J has a real provider; {@code null} while SLF4J is still initialising on another thread (it hands
     * out a substitute factory meanwhile), so that the caller asks again later instead of settling on stderr.
     */
    static Boolean hasRealProvider() {
        ILoggerFactory factory = LoggerFactory.getILoggerFactory();
        String name = factory.getClass().getName();
        if (name.contains("Substitute")) {
            return null;
        }
        return !name.contains("NOP");
    }

    static void log(String loggerName, String level, String format, Object... args) {
        Logger logger = LoggerFactory.getLogger(loggerName);
        switch (level) {
            case "ERROR":
                logger.error(format, args);
                break;
            case "WARN":
                logger.warn(format, args);
                break;
            case "DEBUG":
                logger.debug(format, args);
                break;
            default:
                logger.info(format, args);
        }
    }
}
