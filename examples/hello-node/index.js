// Hello-world function for the nodejs20.x runtime (handler: index.handler).
exports.handler = async (event, context) => {
  const name = (event && event.name) || 'world';
  console.log(`greeting ${name}`);
  return {
    message: `Hello, ${name}!`,
    event,
    requestId: context.awsRequestId,
    functionName: context.functionName,
    memoryLimitInMB: context.memoryLimitInMB,
    remainingTimeMs: context.getRemainingTimeInMillis(),
  };
};
